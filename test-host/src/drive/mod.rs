//! What calls the component as a host would, each with a report that prints itself:
//! a recorded session replayed strictly (and the demo), a live session over the
//! network, a simulated seller against the SP-API simulator, the seeded fault campaign, and the benchmark. Their JSON
//! speaks the WIT's names ([`wit_json`]).

pub mod bench;
pub mod campaign;
pub mod live;
pub mod scenario;
pub mod serve;
pub mod simulate;
pub mod wit_json;
