//! What a PKCS#11 error says about the session, the handles and the login,
//! and so what the HSM layer does before it tries once more.

use super::HsmError;
use cryptoki::error::{Error as CkError, RvError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call itself was refused (a wrong argument, a missing key): the
    /// session is fine and a second try would answer the same.
    Call,
    /// The session is broken: it is closed, never pooled again, and the call
    /// is tried once on a fresh one.
    Session,
    /// A cached object handle is stale: the cache is dropped and the key
    /// looked up again.
    StaleHandle,
    /// The token forgot the login (a reset): log in again with the kept PIN.
    LogIn,
    /// The module or token is gone: only initialising the module again
    /// helps; today the node reports itself unready until restarted.
    Module,
    /// The token's signature did not verify: withheld, and signing is tried
    /// once more (a transient fault gives a good one the second time).
    BadSignature,
}

impl Fault {
    pub fn of(error: &HsmError) -> Fault {
        let rv = match error {
            HsmError::Pkcs11(CkError::Pkcs11(rv, _)) => *rv,
            HsmError::BadSignature(_) => return Fault::BadSignature,
            _ => return Fault::Call,
        };
        match rv {
            RvError::SessionHandleInvalid
            | RvError::SessionClosed
            | RvError::DeviceError
            | RvError::DeviceMemory
            | RvError::GeneralError
            | RvError::FunctionFailed => Fault::Session,
            RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid => Fault::StaleHandle,
            RvError::UserNotLoggedIn => Fault::LogIn,
            RvError::DeviceRemoved | RvError::TokenNotPresent | RvError::CryptokiNotInitialized => Fault::Module,
            _ => Fault::Call,
        }
    }

    /// Whether the session the error came from may serve another call.
    pub fn keeps_session(self) -> bool {
        matches!(self, Fault::Call | Fault::StaleHandle | Fault::BadSignature)
    }

    /// Whether a second try can succeed where the first failed. Signing is
    /// safe to repeat: a failed try released no signature.
    pub fn worth_retrying(self) -> bool {
        matches!(self, Fault::Session | Fault::StaleHandle | Fault::LogIn | Fault::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki::context::Function;

    fn ck(rv: RvError) -> HsmError {
        HsmError::Pkcs11(CkError::Pkcs11(rv, Function::Sign))
    }

    #[test]
    fn each_class_of_error_gets_its_remedy() {
        assert_eq!(Fault::of(&ck(RvError::SessionHandleInvalid)), Fault::Session);
        assert_eq!(Fault::of(&ck(RvError::DeviceError)), Fault::Session);
        assert_eq!(Fault::of(&ck(RvError::KeyHandleInvalid)), Fault::StaleHandle);
        assert_eq!(Fault::of(&ck(RvError::ObjectHandleInvalid)), Fault::StaleHandle);
        assert_eq!(Fault::of(&ck(RvError::UserNotLoggedIn)), Fault::LogIn);
        assert_eq!(Fault::of(&ck(RvError::TokenNotPresent)), Fault::Module);
        assert_eq!(Fault::of(&ck(RvError::ArgumentsBad)), Fault::Call);
        assert_eq!(Fault::of(&HsmError::BadSignature("k".into())), Fault::BadSignature);
        assert_eq!(Fault::of(&HsmError::KeyNotFound("k".into())), Fault::Call);
        assert!(!Fault::Session.keeps_session() && !Fault::LogIn.keeps_session() && !Fault::Module.keeps_session());
        assert!(Fault::Call.keeps_session());
        assert!(!Fault::Call.worth_retrying() && !Fault::Module.worth_retrying());
        assert!(Fault::Session.worth_retrying() && Fault::BadSignature.worth_retrying());
    }
}
