-- What a phone sends when its camera app opens a QR plaque's address: a mobile
-- browser's user agent and defaults, and no cookie (a first scan). The same
-- request goes to every server measured, so they answer the same bytes.
-- scripts/bench_pages.py reads the headers below (one per line) for its own
-- first request, whose answer the bare aiohttp handler and nginx then serve.
--
-- Each answer's status is counted, and done() prints one line per status, e.g.
-- "status 200: 51234", so a run that only measured 429s or 404s is caught.
-- Usage: wrk -s scripts/phone_scan.lua --latency http://127.0.0.1:8080/s/masjid

wrk.method = "GET"
wrk.headers["User-Agent"] = "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36"
wrk.headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"
wrk.headers["Accept-Language"] = "id-ID,id;q=0.9,en;q=0.8"
wrk.headers["Accept-Encoding"] = "gzip, deflate, br"

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    statuses = {}
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
    local totals = {}
    for _, thread in ipairs(threads) do
        for status, count in pairs(thread:get("statuses")) do
            totals[status] = (totals[status] or 0) + count
        end
    end
    for status, count in pairs(totals) do
        io.write(string.format("status %d: %d\n", status, count))
    end
end
