"""The learner's flows: playing a question live and judging an answer (observing, matching,
judge), the unlock-style quiz session and answer sheets (quiz, sheets), checking an exercise
against its reference (checking: playing, comparing, diagnosis, reports), the course path and
`wsquiz watch`'s walk through it (menu, coursewatch), and the progress store."""
