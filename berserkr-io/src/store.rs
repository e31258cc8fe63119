//! Object stores: where berserkr reads its inputs and writes its outputs,
//! named by a URL or a path.
//!
//! | location | store |
//! |---|---|
//! | `data/by-day`, `/srv/retail`, `file:///srv/retail` | the local file system |
//! | `memory://name/prefix` | an in-memory store, one per `name` for the whole process |
//! | `s3://bucket/prefix` | S3 or an S3-compatible server (cargo feature `aws`) |
//!
//! Everything under a [`Location`] is done by [`object_store`]: listing,
//! ranged and streamed reads, retries, multipart uploads. This module adds
//! the naming (a location prints as the URL it came from, and errors say
//! which object failed), glob matching ([`Location::list`]), and
//! [`RetailSource`], which streams every matching object through the lzop
//! and Online Retail push decoders, a few objects at a time, and yields
//! their batches in object order.
//!
//! Writes are all-or-nothing: [`Location::put`] is a single atomic put, and
//! an [`ObjectWriter`] (for outputs too large to hold in memory) becomes a
//! multipart upload that is completed by [`ObjectWriter::finish`] only.
//! A write that fails, is aborted or is dropped half way leaves no object
//! under the final name; the local file system stages into a hidden
//! `name#N` file and renames it at the end.
//!
//! # Basic usage
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), berserkr_io::Error> {
//! use berserkr_io::lzo;
//! use berserkr_io::store::{Location, RetailSource};
//! use futures::TryStreamExt;
//!
//! let header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
//! let day1 = format!("{header}536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n");
//! let day2 = format!("{header}536520,21123,SET/10 IVORY POLKADOT PARTY CANDLES,1,2010-12-02 12:43:00,1.25,14729.0,United Kingdom\n");
//!
//! // Two locations naming the same `memory://` store see the same objects.
//! let bucket = Location::parse("memory://basic-usage/by-day")?;
//! bucket.join("2010-12-01.csv.lzo").put(lzo::compress(day1.as_bytes())?.into()).await?;
//! Location::parse("memory://basic-usage/by-day/2010-12-02.csv")?
//!     .put(day2.into_bytes().into())
//!     .await?;
//!
//! // lzop or plain is told by the first bytes, never by the name.
//! let mut stream = RetailSource::new(bucket).with_glob("*.csv*").open().await?;
//! let batches: Vec<_> = (&mut stream).try_collect().await?;
//! assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
//! assert_eq!(stream.report().objects, 2);
//! assert_eq!(stream.progress().objects_done, 2);
//! # Ok(())
//! # }
//! ```
//!
//! # S3 and S3-compatible servers
//!
//! With the `aws` feature, `s3://bucket/prefix` is configured from the
//! usual environment variables: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, and for a
//! server other than AWS (MinIO, Ceph, moto) `AWS_ENDPOINT` and, when it
//! speaks plain HTTP, `AWS_ALLOW_HTTP=true`. Without the feature an
//! `s3://` location is an [`Error::InvalidLocation`] that says so.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), berserkr_io::Error> {
//! // AWS_ENDPOINT=http://127.0.0.1:9000 AWS_ALLOW_HTTP=true AWS_REGION=us-east-1 ...
//! let days = berserkr_io::store::Location::parse("s3://retail/by-day")?;
//! for object in days.list(Some("2011-*.csv.lzo")).await? {
//!     println!("{} ({} bytes)", days.with_path(object.location), object.size);
//! }
//! # Ok(())
//! # }
//! ```

mod source;
mod writer;

use std::collections::HashMap;
use std::fmt;
use std::path::Component;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use url::Url;

use crate::error::{Error, Result};

pub use source::{Progress, RetailSource, RetailStream};
pub use writer::ObjectWriter;

/// Which kind of store a [`Location`] is in, for printing it back as a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scheme {
    /// The local file system; the path is absolute.
    Local,
    /// A process-wide in-memory store of this name.
    Memory(Arc<str>),
    /// An S3 bucket.
    S3(Arc<str>),
}

/// A place in an object store: the store, and a path (an object, or a
/// prefix under which objects are listed).
///
/// Cheap to clone; clones and [`join`](Self::join)ed children share the
/// store (and so its connections).
///
/// ```
/// use berserkr_io::store::Location;
///
/// let days = Location::parse("memory://docs-location/retail/by-day/")?;
/// let day = days.join("2011-01-04.csv.lzo");
/// assert_eq!(day.to_string(), "memory://docs-location/retail/by-day/2011-01-04.csv.lzo");
/// assert_eq!(day.path().as_ref(), "retail/by-day/2011-01-04.csv.lzo");
/// assert!(std::sync::Arc::ptr_eq(days.store(), day.store()));
///
/// let error = Location::parse("ftp://example.com/x").unwrap_err();
/// assert!(error.to_string().contains("unsupported scheme"));
/// # Ok::<(), berserkr_io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Location {
    store: Arc<dyn ObjectStore>,
    path: Path,
    scheme: Scheme,
}

impl Location {
    /// Parses a location: a local path (relative to the current directory
    /// or absolute; it need not exist yet), or a `file://`, `memory://` or
    /// `s3://` URL.
    ///
    /// `memory://name/...` locations with the same `name` share one
    /// in-memory store for the life of the process. `s3://bucket/...`
    /// needs the `aws` feature and reads its configuration from the
    /// `AWS_*` environment variables (see the [module docs](self)).
    ///
    /// An empty location, a URL that does not parse, an unsupported scheme,
    /// a query or fragment, or a path that `object_store` cannot represent
    /// is an [`Error::InvalidLocation`] saying why.
    pub fn parse(location: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidLocation {
            location: location.to_string(),
            reason,
        };
        if location.is_empty() {
            return Err(invalid("the location is empty".to_string()));
        }
        if !has_url_scheme(location) {
            return Self::local(std::path::Path::new(location)).map_err(invalid);
        }
        let url = Url::parse(location).map_err(|e| invalid(format!("not a valid URL: {e}")))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid(
                "a location takes no query (`?`) or fragment (`#`)".to_string(),
            ));
        }
        let url_path = || {
            Path::from_url_path(url.path())
                .map_err(|e| invalid(format!("not a valid object path: {e}")))
        };
        match url.scheme() {
            "file" => {
                let path = url.to_file_path().map_err(|()| {
                    invalid("a file URL names an absolute local path: file:///dir/name".to_string())
                })?;
                Self::local(&path).map_err(invalid)
            }
            "memory" => {
                let name: Arc<str> = url.host_str().unwrap_or_default().into();
                Ok(Self {
                    store: memory_store(&name),
                    path: url_path()?,
                    scheme: Scheme::Memory(name),
                })
            }
            "s3" => {
                let bucket = url
                    .host_str()
                    .filter(|bucket| !bucket.is_empty())
                    .ok_or_else(|| invalid("no bucket: s3://bucket/prefix".to_string()))?;
                Ok(Self {
                    store: s3_store(bucket).map_err(invalid)?,
                    path: url_path()?,
                    scheme: Scheme::S3(bucket.into()),
                })
            }
            other => Err(invalid(format!(
                "unsupported scheme {other:?}: give a path, or a file://, memory:// or s3:// URL"
            ))),
        }
    }

    /// A location on the local file system.
    fn local(path: &std::path::Path) -> Result<Self, String> {
        let absolute =
            std::path::absolute(path).map_err(|e| format!("cannot make the path absolute: {e}"))?;
        let path = Path::from_absolute_path(normalize(&absolute))
            .map_err(|e| format!("not a valid object path: {e}"))?;
        Ok(Self {
            store: local_store(),
            path,
            scheme: Scheme::Local,
        })
    }

    /// The store this location is in.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The path of this location within its store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The location `child` (one or more `/`-separated parts) below this
    /// one, in the same store.
    ///
    /// Parts are taken literally: `..` names an object called `..`, it does
    /// not climb out of this location.
    pub fn join(&self, child: &str) -> Location {
        let path = child
            .split('/')
            .filter(|part| !part.is_empty())
            .fold(self.path.clone(), |path, part| path.join(part));
        self.with_path(path)
    }

    /// The location of `path` in the same store, as [`list`](Self::list)
    /// returns them.
    pub fn with_path(&self, path: Path) -> Location {
        Location {
            store: Arc::clone(&self.store),
            path,
            scheme: self.scheme.clone(),
        }
    }

    /// The objects at or under this location, sorted by path.
    ///
    /// With a `glob` (`*.csv.lzo`, `2011-0[1-3]-*.csv.lzo`, `**/*.csv`), only
    /// the objects below this location whose path relative to it matches;
    /// `*` and `?` stop at `/`, `**` crosses it. Without one, every object
    /// below this location, or the location itself if it is an object.
    ///
    /// Nothing found is an [`Error::NoMatch`]; a glob that does not parse is
    /// an [`Error::InvalidLocation`].
    pub async fn list(&self, glob: Option<&str>) -> Result<Vec<ObjectMeta>> {
        let matcher = glob
            .map(|glob| {
                globset::GlobBuilder::new(glob)
                    .literal_separator(true)
                    .build()
                    .map(|glob| glob.compile_matcher())
                    .map_err(|e| Error::InvalidLocation {
                        location: self.described(glob),
                        reason: format!("invalid glob: {e}"),
                    })
            })
            .transpose()?;
        let prefix = (!self.path.is_root()).then_some(&self.path);
        let mut listing = self.store.list(prefix);
        let mut found = Vec::new();
        while let Some(object) = listing.try_next().await? {
            let Some(parts) = object.location.prefix_match(&self.path) else {
                continue;
            };
            let relative = parts
                .map(|part| part.as_ref().to_string())
                .collect::<Vec<_>>()
                .join("/");
            let wanted = match &matcher {
                Some(matcher) => !relative.is_empty() && matcher.is_match(&relative),
                None => true,
            };
            if wanted {
                found.push(object);
            }
        }
        if found.is_empty() && matcher.is_none() && !self.path.is_root() {
            // Object stores list the objects *below* a prefix; the
            // location may be an object itself.
            match self.store.head(&self.path).await {
                Ok(object) => found.push(object),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        if found.is_empty() {
            return Err(Error::NoMatch {
                location: glob.map_or_else(|| self.to_string(), |glob| self.described(glob)),
            });
        }
        found.sort_by(|a, b| a.location.cmp(&b.location));
        found.dedup_by(|a, b| a.location == b.location);
        Ok(found)
    }

    /// The whole object at this location.
    pub async fn get(&self) -> Result<Bytes> {
        Ok(self.store.get(&self.path).await?.bytes().await?)
    }

    /// Writes `bytes` as the object at this location, replacing any that is
    /// there, in one atomic put: readers see the old object or the new one,
    /// never a part.
    ///
    /// On the local file system the parent directories are created.
    pub async fn put(&self, bytes: Bytes) -> Result<()> {
        self.store.put(&self.path, bytes.into()).await?;
        Ok(())
    }

    /// A writer for an object too large to hold in memory: up to 10 MiB is
    /// buffered and written with one put, more becomes a multipart upload
    /// in 10 MiB parts. See [`ObjectWriter`].
    pub fn writer(&self) -> ObjectWriter {
        self.writer_with_capacity(10 << 20)
    }

    /// As [`writer`](Self::writer), buffering up to `capacity` bytes (the
    /// size of a single put, and of each part beyond it; S3 needs at least
    /// 5 MiB per part).
    pub fn writer_with_capacity(&self, capacity: usize) -> ObjectWriter {
        ObjectWriter::new(self, capacity.max(1))
    }

    /// This location followed by `/glob`, for messages.
    fn described(&self, glob: &str) -> String {
        format!("{}/{glob}", self.to_string().trim_end_matches('/'))
    }
}

impl fmt::Display for Location {
    /// The location as a URL (`s3://bucket/key`, `memory://name/key`) or,
    /// on the local file system, as an absolute path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scheme {
            Scheme::Local => write!(f, "/{}", self.path),
            Scheme::Memory(name) => write!(f, "memory://{name}/{}", self.path),
            Scheme::S3(bucket) => write!(f, "s3://{bucket}/{}", self.path),
        }
    }
}

/// Whether `location` starts with `scheme://`, a scheme being a letter
/// followed by letters, digits, `+`, `-` or `.`. Anything else is a path.
fn has_url_scheme(location: &str) -> bool {
    location.split_once("://").is_some_and(|(scheme, _)| {
        let mut chars = scheme.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// `path` (absolute) with `.` and `..` resolved by name, as `realpath -m`
/// does, since object paths may not contain them. The path need not exist.
fn normalize(path: &std::path::Path) -> std::path::PathBuf {
    let mut normal = std::path::PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

/// The local file system, rooted at `/`, shared by every local location.
fn local_store() -> Arc<dyn ObjectStore> {
    static LOCAL: OnceLock<Arc<dyn ObjectStore>> = OnceLock::new();
    Arc::clone(LOCAL.get_or_init(|| Arc::new(LocalFileSystem::new())))
}

/// The in-memory store called `name`, created on first use.
fn memory_store(name: &str) -> Arc<dyn ObjectStore> {
    static MEMORY: OnceLock<Mutex<HashMap<String, Arc<dyn ObjectStore>>>> = OnceLock::new();
    let mut stores = MEMORY
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    Arc::clone(
        stores
            .entry(name.to_string())
            .or_insert_with(|| Arc::new(InMemory::new())),
    )
}

/// An S3 store for `bucket`, configured from the `AWS_*` environment.
#[cfg(feature = "aws")]
fn s3_store(bucket: &str) -> Result<Arc<dyn ObjectStore>, String> {
    object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .map(|store| Arc::new(store) as Arc<dyn ObjectStore>)
        .map_err(|e| format!("cannot configure S3 from the AWS_* environment variables: {e}"))
}

/// Without the `aws` feature there is no S3 store.
#[cfg(not(feature = "aws"))]
fn s3_store(_bucket: &str) -> Result<Arc<dyn ObjectStore>, String> {
    Err(
        "s3:// locations need the `aws` cargo feature of berserkr-io \
         (or of berserkr); rebuild with `--features aws`"
            .to_string(),
    )
}

#[cfg(test)]
mod tests;
