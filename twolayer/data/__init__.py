"""Training data: the Dataset every source produces, the sources themselves, MNIST IDX files, uploads and drawings."""
