//! specnorm plot (work in progress).
