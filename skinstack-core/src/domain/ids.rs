//! Typed ids: a `UserId` can never be passed where a `MerchantId` is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered (UUIDv7) id: new rows land at the end of the primary-key index.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an id read from storage or a request.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

id_type!(
    /// Identifies a [`User`](crate::User).
    UserId
);

id_type!(
    /// Identifies a [`Membership`](crate::Membership): one influencer in one program.
    MembershipId
);

id_type!(
    /// Identifies an [`Invitation`](crate::Invitation) to a program.
    InvitationId
);
id_type!(
    /// Identifies an [`Influencer`](crate::Influencer) profile.
    InfluencerId
);
id_type!(
    /// Identifies a [`Merchant`](crate::Merchant).
    MerchantId
);
id_type!(
    /// Identifies a commission [`Program`](crate::Program).
    ProgramId
);
id_type!(
    /// Identifies a [`Product`](crate::Product).
    ProductId
);
id_type!(
    /// Identifies a [`TrackingLink`](crate::TrackingLink).
    LinkId
);
id_type!(
    /// Identifies a [`Conversion`](crate::Conversion).
    ConversionId
);
id_type!(
    /// Identifies a [`crate::earning::ledger::CommissionEvent`].
    EventId
);
id_type!(
    /// Identifies a [`crate::earning::payout::PayoutBatch`].
    PayoutBatchId
);
id_type!(
    /// Identifies one influencer's line of a payout batch.
    PayoutItemId
);
id_type!(
    /// Identifies a [`MerchantStatement`](crate::MerchantStatement) (invoice).
    StatementId
);
id_type!(
    /// Identifies a merchant's [`ApiKeyInfo`](crate::ApiKeyInfo).
    ApiKeyId
);
id_type!(
    /// Identifies a kept [`WebhookDelivery`](crate::WebhookDelivery).
    DeliveryId
);
id_type!(
    /// Identifies a merchant's [`CouponCode`](crate::CouponCode).
    CouponCodeId
);
