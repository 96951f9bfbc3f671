//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, not a
//! public API): every parser fed by the network, reachable from outside.
