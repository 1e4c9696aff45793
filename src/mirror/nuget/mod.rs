//! The NuGet half of `opp mirror`: target frameworks and NuGet's choice of a dependency group
//! (`framework`).

pub mod framework;
