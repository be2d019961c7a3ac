"""What the tool teaches with: a step recorded line by line, the whole program, advice, gradient checks, comparisons."""
