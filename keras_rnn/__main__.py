import sys

from keras_rnn.cli import main

sys.exit(main())
