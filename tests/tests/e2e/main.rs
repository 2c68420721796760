//! End-to-end tests: real server processes, real `wysiwys-confirm`, HTTP as
//! the browser. One test binary on purpose (link time).

mod accounts;
mod bad_input;
mod fixture;
mod flow;
mod refusals;
