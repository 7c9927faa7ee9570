//! specnorm norm (work in progress).
