"""Chaining trained stages: stage inference into stores, track building and its evaluation."""
