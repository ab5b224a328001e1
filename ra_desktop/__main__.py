import sys

from ra_desktop.cli import main

sys.exit(main())
