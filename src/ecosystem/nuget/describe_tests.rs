//! Tests of [`super::describe_reader`] on packages built in memory.
