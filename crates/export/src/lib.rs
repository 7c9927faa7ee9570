//! specnorm export (work in progress).
