//! specnorm dsp (work in progress).
