"""The course as data: quizzes, lessons and exercises (TOML, Markdown and example `.py` files),
their schemas, their problems and their order."""
