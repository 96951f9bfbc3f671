//! An Atlas double in-process on 127.0.0.1 (stub: to be written).
