//! specnorm infer (work in progress).
