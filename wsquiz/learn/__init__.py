"""The learner's flows: judging an answer against the live observation, a quiz session,
checking an exercise against its reference, the course path, and the progress store."""
