"""The tour's checks in the staff's own language.

`tour check` and the catalog speak English, one line per problem, for whoever runs the
command. The studio shows the same problems to office staff who work in Indonesian, so
each message the stop form can produce is matched here by its pattern and said again
in Indonesian, with the same values. A message with no pattern is shown as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

Translation = tuple[re.Pattern[str], str]

QUOTED = r"'(?P<value>[^']*)'"
UNIT_WORDS = {
    "id": {
        "words": "kata",
        "characters": "karakter",
        "name": "nama",
        "text": "teks",
        "title": "judul",
        "value": "nilai",
    }
}

# Each pattern matches the end of a line, so `path:line: field: message` keeps its prefix.
_INDONESIAN: tuple[Translation, ...] = tuple(
    (re.compile(f"(?:{pattern})$"), template)
    for pattern, template in (
        (
            r"(?P<n>\d+) (?P<unit>words|characters), too short; write (?P<low>\d+)–(?P<high>\d+) "
            r"(?:words|characters) \(about a minute of narration\)",
            "{n} {unit}, terlalu pendek; tulis {low}–{high} {unit} (sekitar satu menit narasi)",
        ),
        (
            r"(?P<n>\d+) (?P<unit>words|characters), too long; shorten it to (?P<high>\d+) "
            r"(?:words|characters) at most \(about a minute of narration\)",
            "{n} {unit}, terlalu panjang; persingkat menjadi paling banyak {high} {unit} "
            "(sekitar satu menit narasi)",
        ),
        (r"is empty; write the text or remove the line", "masih kosong; isi teksnya"),
        (r"is empty; write a value", "masih kosong; isi nilainya"),
        (
            r"missing the '(?P<lang>[a-z-]+)' (?P<unit>name|text); every stop needs one in each "
            r"tour language \((?P<languages>[^)]*)\)",
            "{unit} dalam bahasa “{lang}” belum ada; setiap perhentian memerlukannya dalam "
            "semua bahasa tur ({languages})",
        ),
        (
            r"(?P<n>\d+) characters is too long \(limit (?P<limit>\d+)\); shorten it or split "
            r"the stop",
            "{n} karakter, terlalu panjang (batasnya {limit}); persingkat teksnya atau bagi "
            "perhentian ini menjadi dua",
        ),
        (
            r"(?P<value>\S+) is out of range; use a number from (?P<low>\S+) to (?P<high>\S+)",
            "{value} di luar batas; gunakan angka dari {low} sampai {high}",
        ),
        (
            r"must be a number, not .+",
            "harus berupa angka dengan titik sebagai tanda desimal, misalnya 0.929444",
        ),
        (r"must be a string in quotes, not .+", "harus berupa teks"),
        (
            r"contains a control character \((?P<char>U\+[0-9A-F]{4,6})\); remove it",
            "berisi karakter kendali yang tidak terlihat ({char}); hapus karakter itu",
        ),
        (
            r"a (?P<unit>name|title|value) is one line; remove the line break",
            "{unit} harus ditulis dalam satu baris; hapus pindah barisnya",
        ),
        (
            r"(?P<lat>\S+), (?P<lon>\S+) lies outside the tour area \(lat (?P<south>\S+) to "
            r"(?P<north>\S+), lon (?P<west>\S+) to (?P<east>[^)]+)\); check for a typo in the "
            r"digits",
            "{lat}, {lon} berada di luar wilayah tur (lintang {south} sampai {north}, bujur "
            "{west} sampai {east}); periksa apakah ada angka yang salah ketik",
        ),
        (
            QUOTED + r" must be 1-(?P<most>\d+) characters of lowercase letters, digits and -, "
            r"such as '(?P<example>[^']*)'",
            "“{value}” harus terdiri atas 1–{most} karakter: huruf kecil, angka, atau tanda "
            "hubung (-), misalnya “{example}”",
        ),
        (
            QUOTED + r" is already the code of (?P<owner>\S+); each stop needs its own code",
            "“{value}” sudah menjadi kode {owner}; setiap perhentian memerlukan kodenya sendiri",
        ),
        (
            QUOTED + r" was the code of a retired stop, and its plaque still answers; choose "
            r"another code",
            "“{value}” adalah kode perhentian nonaktif yang plakatnya masih berfungsi; pilih "
            "kode lain",
        ),
        (
            QUOTED + r" makes the QR code larger than version (?P<version>\d+) at level "
            r"(?P<level>[LMQH]); use at most (?P<most>\d+) characters",
            "“{value}” membuat kode QR lebih besar daripada versi {version} pada tingkat "
            "{level}; gunakan paling banyak {most} karakter",
        ),
        (
            QUOTED + r" is not one of (?P<allowed>[^;]+); say how the position was found, or "
            r"'estimated'",
            "“{value}” bukan salah satu dari {allowed}; pilih cara lokasi ini ditentukan, atau "
            "“estimated” bila masih perkiraan",
        ),
        (
            r"(?P<said>\d+) sentences, but text\.(?P<lang>[a-z-]+) has (?P<written>\d+); the "
            r"captions pair them in order, so split or join spoken sentences until it has "
            r"\d+ too",
            "{said} kalimat, sedangkan text.{lang} berisi {written} kalimat; takarir "
            "dipasangkan kalimat demi kalimat, jadi pisahkan atau gabungkan kalimat lisan "
            "hingga berjumlah {written}",
        ),
        (
            r"give the stop a file name, such as '(?P<example>[^']*)'",
            "beri perhentian ini nama berkas, misalnya “{example}”",
        ),
        (
            QUOTED + r" must be a plain name without / or \.\.; such as '(?P<example>[^']*)'",
            "“{value}” harus berupa nama biasa tanpa / atau ..; misalnya “{example}”",
        ),
        (
            QUOTED + r" is (?P<n>\d+) characters long; use at most (?P<most>\d+)",
            "“{value}” panjangnya {n} karakter; gunakan paling banyak {most}",
        ),
        (
            QUOTED + r" may only use lowercase letters, digits and -, and start with a letter "
            r"or digit; such as '(?P<example>[^']*)'",
            "“{value}” hanya boleh berisi huruf kecil, angka, dan tanda hubung (-), serta "
            "diawali huruf atau angka; misalnya “{example}”",
        ),
        (
            QUOTED + r" is already the file name of a (?P<retired>retired )?stop; choose another "
            r"name",
            "“{value}” sudah menjadi nama berkas sebuah perhentian{retired}; pilih nama lain",
        ),
    )
)

TRANSLATIONS: Mapping[str, tuple[Translation, ...]] = {"id": _INDONESIAN}
"""Per staff language other than English, the catalog's messages said again."""


def in_language(message: str, lang: str) -> str:
    """Return `message` in the staff language `lang`, or as written when no pattern fits.

    A `tour check` line (`path:line: field: message`) keeps its place and field.
    """
    for pattern, template in TRANSLATIONS.get(lang, ()):
        match = pattern.search(message)
        if match is None:
            continue
        values = {name: value or "" for name, value in match.groupdict().items()}
        units = UNIT_WORDS.get(lang, {})
        if "unit" in values:
            values["unit"] = units.get(values["unit"], values["unit"])
            if template.startswith("{unit}"):
                values["unit"] = values["unit"].capitalize()
        if "retired" in values:
            values["retired"] = " nonaktif" if values["retired"] else ""
        return message[: match.start()] + template.format(**values)
    return message


def problems_in_language(problems: Mapping[str, Sequence[str]], lang: str) -> dict[str, list[str]]:
    """Say every problem of a form, field by field, in the staff language `lang`."""
    return {
        field: [in_language(message, lang) for message in messages]
        for field, messages in problems.items()
    }
