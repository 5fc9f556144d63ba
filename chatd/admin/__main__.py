"""C{python -m chatd.admin status}: the same as C{chatctl status}."""

import sys

from chatd.chatctl import main

sys.exit(main())
