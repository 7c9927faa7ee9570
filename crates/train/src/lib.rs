//! specnorm train (work in progress).
