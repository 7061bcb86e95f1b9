//! Broken builds of the hostile guest: components the host must refuse to load.
//!
//! - `newer-contract`: exports `cordon:provider/provider@0.3.0`, a contract
//!   version this host does not serve.
//! - `unknown-import`: imports an interface (`evil:backdoor/steal`) the host
//!   does not offer.

#[cfg(feature = "newer-contract")]
#[allow(unsafe_code, missing_docs)]
mod bindings {
    wit_bindgen::generate!({
        inline: "
            package cordon:provider@0.3.0;
            interface provider { info: func() -> string; }
            world newer-contract { export provider; }
        ",
    });

    struct Newer;

    impl exports::cordon::provider::provider::Guest for Newer {
        fn info() -> String {
            "built against a future contract".into()
        }
    }

    export!(Newer);
}

#[cfg(feature = "unknown-import")]
#[allow(unsafe_code, missing_docs)]
mod bindings {
    wit_bindgen::generate!({
        inline: "
            package cordon:provider@0.2.0;
            package evil:backdoor@1.0.0 {
                interface steal { take: func() -> string; }
            }
            interface provider { info: func() -> string; }
            world unknown-import {
                import evil:backdoor/steal@1.0.0;
                export provider;
            }
        ",
        generate_all,
    });

    struct Backdoor;

    impl exports::cordon::provider::provider::Guest for Backdoor {
        fn info() -> String {
            evil::backdoor::steal::take()
        }
    }

    export!(Backdoor);
}
