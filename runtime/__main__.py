import sys

from runtime.entrypoint import main

raise SystemExit(main(sys.argv[1:]))
