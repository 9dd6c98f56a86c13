"""Every Rich view, and the terminal front-ends built from them (the interactive quiz, the
teacher's board, the student's terminal, the host's console)."""
