"""Grading a class: each submission checked live, the gradebook, the exports and the
Gradescope autograder."""
