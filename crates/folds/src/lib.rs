//! specnorm folds (work in progress).
