//! What an order earns and who is paid: the commission math, attribution, the append-only
//! ledger with the totals it moves, and payout planning. Pure rules; the stores apply them.

pub mod attribution;
pub mod balance;
pub mod commission;
pub mod invoice;
pub mod ledger;
pub mod payout;
pub mod signals;

pub use attribution::{attribute, ClickFacts, ClickRejection, CouponFacts, Decision, LinkTerms};
pub use balance::{Balance, Standing, UnattributedOrders};
pub use commission::{CommissionError, CommissionSplit};
pub use invoice::{amount_due, build_statement, BillableEvent, StatementRequest};
pub use ledger::{
    CommissionEvent, ConversionFilter, ConversionStatus, ConversionView, DailyLinkStats,
    EarningsSummary, EventKind, MerchantCommissions, SeedTotals, TotalsDelta,
};
pub use payout::{
    plan_payouts, DeliveryError, PayoutBatch, PayoutItem, PayoutMinimums, PayoutPlan,
    PayoutProvider, PlannedItem, SettleError, SkipReason, SkippedPayout, UnsettledEvent,
};
