//! The expert's own profile data. For now: payout details (SP-profile, SP-bank).

use std::sync::Arc;

use augure_domain::bank::{self, PayoutMethod};
use augure_domain::{Clock, Email, UserId};
use augure_store::{BankDetails, Store, StoreError};

use crate::directory::DirectoryChanges;

/// What the bank details form sends.
#[derive(Clone, Debug, Default)]
pub struct BankForm {
    pub payout_method: String,
    pub holder: String,
    pub bank_name: String,
    pub bank_country: String,
    pub iban: String,
    pub bic: String,
    pub paypal_email: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("account holder missing")]
    HolderMissing,
    #[error(transparent)]
    Bank(#[from] bank::BankError),
    #[error("invalid PayPal email")]
    InvalidPayPal,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Profiles {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    changes: DirectoryChanges,
}

impl Profiles {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, changes: DirectoryChanges) -> Self {
        Self { store, clock, changes }
    }

    /// Validates and saves payout details; from then on SP-bank no longer blocks the
    /// expert. A bank transfer needs a valid IBAN and BIC; PayPal needs a valid email.
    pub async fn save_bank_details(&self, user: UserId, form: &BankForm) -> Result<BankDetails, ProfileError> {
        let holder = form.holder.trim();
        if holder.is_empty() || holder.chars().count() > 140 {
            return Err(ProfileError::HolderMissing);
        }
        let (method, iban, bic, paypal) = if form.payout_method == "pay_pal" {
            let email: Email = form.paypal_email.parse().map_err(|_| ProfileError::InvalidPayPal)?;
            (PayoutMethod::PayPal, None, None, Some(email.to_string()))
        } else {
            (PayoutMethod::BankTransfer, Some(bank::parse_iban(&form.iban)?), Some(bank::parse_bic(&form.bic)?), None)
        };
        let details = BankDetails {
            user_id: user,
            payout_method: method,
            holder: holder.to_owned(),
            bank_name: form.bank_name.trim().chars().take(140).collect(),
            bank_country: form.bank_country.trim().to_uppercase().chars().take(2).collect(),
            iban,
            bic,
            paypal_email: paypal,
            updated_at: self.clock.now(),
        };
        self.store.save_bank_details(&details).await?;
        // SP-bank may have been blocking every mode.
        self.changes.changed();
        Ok(details)
    }

    pub async fn bank_details(&self, user: UserId) -> Result<Option<BankDetails>, ProfileError> {
        match self.store.bank_details(user).await {
            Ok(d) => Ok(Some(d)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
