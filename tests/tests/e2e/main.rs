//! End-to-end tests: real server processes, real `wysiwys-confirm`, HTTP as
//! the browser. One test binary on purpose (link time).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod accounts;
mod attack;
mod bad_input;
mod batch;
mod csc;
mod csc_oauth;
mod device_app;
mod enrolment;
mod fixture;
mod flow;
mod hsm_keys;
mod long_term;
mod openapi;
mod operator;
mod pdf;
mod proxy;
mod readiness;
mod refusals;
mod relying_parties;
mod resilience;
mod revocation;
mod step_up;
mod timestamps;
mod web;
