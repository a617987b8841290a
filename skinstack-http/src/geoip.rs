//! A click's country from a GeoIP database: a MaxMind DB (`.mmdb`) country or city database
//! such as MaxMind's GeoLite2-Country or GeoIP2-Country, or DB-IP's IP-to-Country Lite, read
//! whole into memory with the [`maxminddb`] crate. The redirect looks the client's full
//! address up before the click anonymises it ([`skinstack_core::anonymize_ip`]), so the full
//! address is only ever held in memory for the request; only the country it gives is kept.
//!
//! The country is the record's `country.iso_code`, where the address is (not
//! `registered_country`, whose company may be elsewhere). An address the database does not
//! know, a record without a country (anonymous proxies and satellite providers in GeoLite2),
//! and a code that names no ISO 3166-1 country all give none.
//!
//! The database is not reloaded: a server picks up a new edition when it restarts.

use maxminddb::{MaxMindDbError, PathElement, Reader};
use skinstack_core::Country;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Why a GeoIP database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GeoIpError {
    /// The file could not be read.
    #[error("cannot read the GeoIP database {path}: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a MaxMind DB, or a damaged one (truncated, corrupt tree or data).
    #[error("not a valid MaxMind DB (.mmdb) file: {0}")]
    Malformed(#[from] MaxMindDbError),
    /// A MaxMind DB of another kind (ASN, ISP, anonymous IP...), whose records have no country.
    #[error(
        "a {database_type:?} database has no countries: give a country or city database \
         such as GeoLite2-Country, GeoIP2-Country or DB-IP's IP-to-Country Lite"
    )]
    NoCountries {
        /// The `database_type` its metadata names.
        database_type: String,
    },
}

/// A country database, held in memory; cheap to look up from many requests at once.
pub struct CountryDatabase {
    reader: Reader<Vec<u8>>,
}

/// Where a record's country code is.
const ISO_CODE: [PathElement<'static>; 2] =
    [PathElement::Key("country"), PathElement::Key("iso_code")];

impl CountryDatabase {
    /// Reads the database at `path` whole and checks it ([`CountryDatabase::from_bytes`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, GeoIpError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| GeoIpError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(bytes)
    }

    /// The database in `bytes`, checked whole by the reader ([`Reader::verify`]: the search
    /// tree, every record, and metadata with a type and a description, as every published
    /// database has), so that a damaged file is refused at start rather than failing lookups
    /// later; and refused unless its type says it is a country or city database (MaxMind's
    /// and DB-IP's names say `Country`, `City` or `Enterprise`). The check reads every record
    /// once: a moment for a country database, longer for a city one.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, GeoIpError> {
        let reader = Reader::from_source(bytes)?;
        reader.verify()?;
        let database_type = &reader.metadata().database_type;
        let kind = database_type.to_ascii_lowercase();
        if !["country", "city", "enterprise"]
            .iter()
            .any(|known| kind.contains(known))
        {
            return Err(GeoIpError::NoCountries {
                database_type: database_type.clone(),
            });
        }
        Ok(Self { reader })
    }

    /// The country `ip` is in, by the database; `None` when it does not say, or names no
    /// ISO 3166-1 country. An IPv4-mapped IPv6 address is looked up as its IPv4 address. Never
    /// fails: a record the database cannot decode gives none too.
    pub fn country(&self, ip: IpAddr) -> Option<Country> {
        let found = self.reader.lookup(ip.to_canonical()).ok()?;
        let code: &str = found.decode_path(&ISO_CODE).ok()??;
        Country::parse(code).ok()
    }

    /// The database's own name for its kind, such as `GeoLite2-Country`.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// When the database was built, in seconds since the Unix epoch: how old its data is.
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }
}

impl fmt::Debug for CountryDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountryDatabase")
            .field("database_type", &self.database_type())
            .field("build_epoch", &self.build_epoch())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use mmdb_writer::{ipnet::IpNet, Value, Writer};

    /// A record as GeoLite2-Country writes it, reduced to what matters here.
    fn record(country: Option<&str>, registered: &str) -> Value {
        let mut fields = vec![(
            "registered_country",
            Value::map([("iso_code", Value::from(registered))]),
        )];
        if let Some(code) = country {
            fields.push(("country", Value::map([("iso_code", Value::from(code))])));
        }
        Value::map(fields)
    }

    /// A database of `database_type` with a few networks, as the reader tests want it.
    fn database(database_type: &str) -> Vec<u8> {
        let mut writer = described(database_type, mmdb_writer::IpVersion::V6);
        for (network, value) in [
            ("81.2.69.0/24", record(Some("GB"), "GB")),
            ("81.2.69.128/25", record(Some("IE"), "GB")),
            ("2a02:8070::/32", record(Some("DE"), "DE")),
            // A satellite provider: registered somewhere, the shopper anywhere.
            ("196.201.128.0/17", record(None, "GB")),
            ("100.64.0.0/10", record(Some("ZZ"), "ZZ")),
        ] {
            writer
                .insert_value(network.parse::<IpNet>().unwrap(), value)
                .unwrap();
        }
        writer.to_bytes().unwrap()
    }

    /// An empty writer whose metadata has the description every published database has (the
    /// reader's whole check wants one).
    fn described(database_type: &str, ip_version: mmdb_writer::IpVersion) -> Writer {
        Writer::builder(database_type)
            .ip_version(ip_version)
            .description(&[("en", "Test countries")])
            .build()
    }

    fn lookup(db: &CountryDatabase, ip: &str) -> Option<String> {
        db.country(ip.parse().unwrap()).map(|c| c.to_string())
    }

    #[test]
    fn addresses_in_the_databases_networks_get_their_country_and_others_none() {
        let db = CountryDatabase::from_bytes(database("GeoLite2-Country")).unwrap();
        assert_eq!(db.database_type(), "GeoLite2-Country");
        for (ip, country) in [
            ("81.2.69.7", Some("GB")),
            ("81.2.69.200", Some("IE")),
            ("::ffff:81.2.69.7", Some("GB")),
            ("2a02:8070:1234::1", Some("DE")),
            ("2a02:8071::1", None),
            ("81.2.70.1", None),
            ("8.8.8.8", None),
            ("::1", None),
            ("196.201.130.9", None),
            ("100.64.0.1", None),
        ] {
            assert_eq!(lookup(&db, ip).as_deref(), country, "{ip}");
        }
    }

    #[test]
    fn an_ipv4_only_database_gives_ipv6_addresses_no_country() {
        let mut writer = described("DBIP-Country-Lite", mmdb_writer::IpVersion::V4);
        writer
            .insert_value(
                "81.2.69.0/24".parse::<IpNet>().unwrap(),
                record(Some("GB"), "GB"),
            )
            .unwrap();
        let db = CountryDatabase::from_bytes(writer.to_bytes().unwrap()).unwrap();
        assert_eq!(lookup(&db, "81.2.69.7").as_deref(), Some("GB"));
        assert_eq!(lookup(&db, "2a02:8070::1"), None);
    }

    #[test]
    fn a_damaged_or_foreign_file_is_refused_when_opened() {
        let good = database("GeoIP2-Country");
        assert!(matches!(
            CountryDatabase::from_bytes(b"not a database".to_vec()),
            Err(GeoIpError::Malformed(_))
        ));
        assert!(matches!(
            CountryDatabase::from_bytes(Vec::new()),
            Err(GeoIpError::Malformed(_))
        ));
        // The search tree cut short: the metadata marker is still there at the end.
        let marker = b"\xab\xcd\xefMaxMind.com";
        let at = good
            .windows(marker.len())
            .rposition(|w| w == marker)
            .unwrap();
        let mut cut = good[..8].to_vec();
        cut.extend_from_slice(&good[at..]);
        assert!(matches!(
            CountryDatabase::from_bytes(cut),
            Err(GeoIpError::Malformed(_))
        ));
        // Garbage over the data section, which only a whole check finds.
        let mut scribbled = good.clone();
        let data = at - 40;
        scribbled[data..at].fill(0xff);
        assert!(
            Reader::from_source(scribbled.clone()).is_ok(),
            "opening alone reads only the metadata"
        );
        assert!(matches!(
            CountryDatabase::from_bytes(scribbled),
            Err(GeoIpError::Malformed(_))
        ));
        let asn = CountryDatabase::from_bytes(database("GeoLite2-ASN")).unwrap_err();
        assert!(matches!(asn, GeoIpError::NoCountries { .. }), "{asn}");
        assert!(asn.to_string().contains("GeoLite2-ASN"));
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let path = std::env::temp_dir().join(format!("no-such-{}.mmdb", uuid::Uuid::new_v4()));
        let error = CountryDatabase::open(&path).unwrap_err();
        assert!(matches!(error, GeoIpError::Unreadable { .. }));
        assert!(error.to_string().contains(&path.display().to_string()));
    }
}
