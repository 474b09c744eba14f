import sys

from konsilo.cli.main import main

sys.exit(main())
