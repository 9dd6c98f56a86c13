"""`python -m wsquiz`: the command line."""

import sys

from wsquiz.cli import main

sys.argv[0] = "wsquiz"
main()
