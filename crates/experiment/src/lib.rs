//! specnorm experiment (work in progress).
