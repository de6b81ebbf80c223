"""The tour's building blocks: the model, its errors, files written atomically, languages,
sentences, settings and URLs. They know nothing of HTTP, stop files or builders."""
