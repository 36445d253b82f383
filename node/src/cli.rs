//! The command line: global flags and one subcommand per area.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ferrite_types::SectorSize;

use crate::config::LogFormat;

/// Ferrite: a Filecoin storage-provider suite (sealing, proving, market, retrieval).
#[derive(Debug, Parser)]
#[command(name = "ferrite", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Home directory: config, databases, keystore [default: ~/.ferrite]
    #[arg(long, global = true, env = "FERRITE_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Config file [default: <home>/config.toml]
    #[arg(long, global = true, env = "FERRITE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log line format (overrides node.log_format)
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `debug` or `ferrite_proofs=debug,info` (overrides node.log_level)
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Groth16 parameter directory (overrides proofs.parameter_cache)
    #[arg(long, global = true, value_name = "DIR")]
    pub parameter_cache: Option<PathBuf>,
}

impl GlobalArgs {
    /// The home directory.
    pub fn home(&self) -> PathBuf {
        match &self.home {
            Some(h) => h.clone(),
            None => std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/"))
                .join(".ferrite"),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a single-node devnet: an embedded FVM chain with a Lotus-compatible JSON-RPC API
    Devnet(DevnetArgs),
    /// Run the node on a Filecoin network through a Lotus or Forest node ([chain] url and
    /// token, or FULLNODE_API_INFO), until SIGTERM or SIGINT
    Run(RunArgs),
    /// Set up a home directory for a network: create a storage miner through the chain node
    /// (--owner, --worker, --sector-size) or attach one (--actor)
    Init(InitArgs),
    /// One screen on the running node: chain, miner, power, balances, sectors by state,
    /// workers, the next deadlines and deals
    Status,
    /// Run a sealing worker: takes tasks from a node over gRPC and runs them on this host
    Worker(WorkerArgs),
    /// Workers: the node's connected workers and their tasks (talks to a running node)
    #[command(subcommand)]
    Workers(WorkersCommand),
    /// Chain: read the head, send FIL (talks to a running node)
    #[command(subcommand)]
    Chain(ChainCommand),
    /// Sectors: pledge, list, show, remove and restart sectors (talks to a running node)
    #[command(subcommand)]
    Sectors(SectorsCommand),
    /// Proving: deadlines, partitions, faults and WindowPoSt checks (talks to a running node)
    #[command(subcommand)]
    Proving(ProvingCommand),
    /// Storage paths: attach, detach and list the directories sector files go to (talks to a running node)
    #[command(subcommand)]
    Storage(StorageCommand),
    /// API tokens
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Groth16 proof parameters: generate test sizes, fetch production sizes
    #[command(subcommand)]
    Params(ParamsCommand),
    /// Pieces: compute a file's piece commitment
    #[command(subcommand)]
    Piece(PieceCommand),
    /// Proofs: run the real sealing and proving pipeline as a self-test
    #[command(subcommand)]
    Proofs(ProofsCommand),
    Bench(crate::commands::bench::BenchArgs),
    /// Configuration: print the documented default or the effective config
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Deals: the provider's storage deals, their data and the ask (talks to a running node)
    #[command(subcommand)]
    Deals(DealsCommand),
    /// Client: make storage deals with a provider, as the `boost` client does (talks to a running
    /// node for the chain and the wallet)
    #[command(subcommand)]
    Client(ClientCommand),
    /// Retrieval: what the node's HTTP retrieval server has served (talks to a running node)
    #[command(subcommand)]
    Retrieval(RetrievalCommand),
    /// Wallet: list, make, import and export the keys of <home>/keystore, and encrypt it (works
    /// on the files; no node needed)
    Wallet(WalletArgs),
}

#[derive(Debug, Subcommand)]
pub enum RetrievalCommand {
    /// Requests by endpoint and status, bytes sent, time to first byte, unseals
    Stats,
}

#[derive(Debug, Subcommand)]
pub enum ParamsCommand {
    /// Generate parameters for test sector sizes (2KiB, 8MiB) from a fixed seed.
    /// For a private test network only.
    Generate {
        /// Sector sizes, comma-separated
        #[arg(long, value_delimiter = ',', default_value = "2KiB")]
        sizes: Vec<SectorSize>,
    },
    /// Download the official parameter files and check their digests
    Fetch {
        /// Sector sizes whose .params files to fetch (every .vk is fetched), comma-separated
        #[arg(long, value_delimiter = ',', required = true)]
        sizes: Vec<SectorSize>,
        /// Base URL; the file's CID is appended (overrides proofs.param_base_url)
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
        /// A manifest in the format of parameters.json instead of the one in filecoin-proofs
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PieceCommand {
    /// Print a file's piece CID (CommP), padded piece size and payload size
    Commp {
        /// The file
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProofsCommand {
    /// Seal, prove, verify and unseal one sector with real proofs, timing each phase
    Selftest {
        /// Sector size
        #[arg(long, default_value = "2KiB")]
        size: SectorSize,
        /// Working directory [default: <home>/selftest]; emptied first
        #[arg(long, value_name = "DIR")]
        workdir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the documented default config
    Default,
    /// Print the effective config (file, environment and flags applied)
    Show,
    /// Check a config file: its syntax, unknown keys and values, without starting anything
    Check {
        /// The file
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Milliseconds between blocks (overrides devnet.block_time_ms)
    #[arg(long, value_name = "MS")]
    pub block_time_ms: Option<u64>,
    /// JSON-RPC listen address (overrides devnet.listen)
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// gRPC listen address for workers (overrides cluster.grpc_listen)
    #[arg(long, value_name = "ADDR")]
    pub grpc_listen: Option<String>,
    /// Where the libp2p deal protocols listen, a multiaddr (overrides market.listen)
    #[arg(long, value_name = "MULTIADDR")]
    pub market_listen: Option<String>,
    /// Where the retrieval HTTP server listens, address:port (overrides retrieval.listen)
    #[arg(long, value_name = "ADDR")]
    pub retrieval_listen: Option<String>,
    /// Start no worker in the node's process: every task waits for `ferrite worker`s
    /// (overrides cluster.local_worker)
    #[arg(long)]
    pub no_worker: bool,
    /// Run this actor bundle (a CAR, e.g. the official builtin-actors) instead of the embedded one.
    /// Only used when the chain is created.
    #[arg(long, value_name = "FILE")]
    pub actors_bundle: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The operator API's listen address (overrides node.api_listen)
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// gRPC listen address for workers (overrides cluster.grpc_listen)
    #[arg(long, value_name = "ADDR")]
    pub grpc_listen: Option<String>,
    /// Start no worker in the node's process: every task waits for `ferrite worker`s
    /// (overrides cluster.local_worker)
    #[arg(long)]
    pub no_worker: bool,
    /// Where the libp2p deal protocols listen, a multiaddr (overrides market.listen)
    #[arg(long, value_name = "MULTIADDR")]
    pub market_listen: Option<String>,
    /// Where the retrieval HTTP server listens, address:port (overrides retrieval.listen)
    #[arg(long, value_name = "ADDR")]
    pub retrieval_listen: Option<String>,
    /// The storage miner to run for (overrides chain.miner and <home>/miner)
    #[arg(long, value_name = "f0...")]
    pub actor: Option<String>,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Attach this existing storage miner
    #[arg(long, value_name = "f0...", conflicts_with_all = ["owner", "worker", "sector_size"])]
    pub actor: Option<String>,
    /// Create a storage miner owned by this address (its key in the chain node's wallet)
    #[arg(long, value_name = "ADDR")]
    pub owner: Option<String>,
    /// The new miner's worker: a BLS address (f3...) whose key is in the chain node's wallet
    #[arg(long, value_name = "ADDR", requires = "owner")]
    pub worker: Option<String>,
    /// The new miner's sector size, e.g. 32GiB
    #[arg(long, requires = "owner")]
    pub sector_size: Option<SectorSize>,
    /// FIL sent with CreateMiner: its deposit is locked from it, the rest is the miner's balance
    #[arg(long, value_name = "FIL", default_value_t = 0)]
    pub deposit_fil: u64,
    /// Do not download the official proof parameters of a production sector size
    #[arg(long)]
    pub no_fetch_params: bool,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// Print the head tipset's height and CIDs
    Head,
    /// Devnet only: produce N blocks now (admin token)
    Advance {
        /// How many epochs
        epochs: u64,
    },
    /// Send FIL from a wallet address of the node, and wait for it to execute; with --data, call
    /// a contract (InvokeContract) and print what it returned
    Send {
        /// Recipient: a Filecoin address (f0, f1, f2, f3, f410) or an Ethereum 0x address
        to: String,
        /// Amount in FIL (decimals allowed, e.g. 0.5)
        amount: String,
        /// Sender [default: the node's default wallet address]
        #[arg(long)]
        from: Option<String>,
        /// ABI-encoded calldata for a contract (0x hex): sends InvokeContract with it
        #[arg(long)]
        data: Option<String>,
    },
    /// Deploy a Solidity (EVM) contract through the Ethereum Address Manager, from a wallet
    /// address of the node, and print its addresses
    DeployActor {
        /// The contract's init code (creation bytecode), as hex (0x optional) or raw bytes, as
        /// solc writes it
        #[arg(long, value_name = "BYTECODE_FILE")]
        evm: std::path::PathBuf,
        /// ABI-encoded constructor arguments (0x hex), appended to the init code
        #[arg(long)]
        args: Option<String>,
        /// FIL sent to the constructor (decimals allowed)
        #[arg(long, default_value = "0")]
        value: String,
        /// Sender [default: the node's default wallet address]
        #[arg(long)]
        from: Option<String>,
    },
    /// Call a contract read-only on the head's state (no message is sent) and print its output
    Call {
        /// The contract: an f410 (or f0) address or an Ethereum 0x address
        to: String,
        /// ABI-encoded calldata (0x hex)
        data: String,
        /// Caller [default: the node's default wallet address]
        #[arg(long)]
        from: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DealsCommand {
    /// Every deal, its state and how long it has been in it
    List,
    /// One deal's state, and with --log its history with times
    Status {
        /// The deal's UUID
        uuid: String,
        /// Print every transition
        #[arg(long)]
        log: bool,
    },
    /// Give an offline deal its data: the file is copied into the staging
    /// area, its CommP checked against the proposal (admin token)
    ImportData {
        /// The deal's UUID
        uuid: String,
        /// The payload file, on the node's host
        file: PathBuf,
    },
    /// The storage ask: prices and piece sizes taken ([market.ask] in the
    /// config, until `deals ask set` stores another)
    Ask {
        #[command(subcommand)]
        command: Option<AskCommand>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AskCommand {
    /// Show the ask in force (the default)
    Get,
    /// Change the ask: it is stored and takes the place of [market.ask] from
    /// now on, restarts included (admin token)
    Set {
        /// The least price of a deal, in attoFIL per GiB (padded) per epoch
        #[arg(long, value_name = "ATTOFIL")]
        price: Option<String>,
        /// The least price of a verified (FIL+) deal, in attoFIL per GiB per epoch
        #[arg(long, value_name = "ATTOFIL")]
        verified_price: Option<String>,
        /// The smallest piece taken, padded, e.g. 256B or 1MiB
        #[arg(long, value_name = "SIZE")]
        min_piece_size: Option<String>,
        /// The largest piece taken, padded, e.g. 32GiB
        #[arg(long, value_name = "SIZE")]
        max_piece_size: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SectorsCommand {
    /// Seal committed-capacity sectors (no deals) and prove them
    Pledge {
        /// How many sectors
        #[arg(long, default_value_t = 1)]
        count: u64,
        /// Follow the sectors, a progress line each, until all are Proving
        #[arg(long)]
        wait: bool,
    },
    /// Every sector, its state and how long it has been in it
    List,
    /// One sector's state, and with --log its history with times
    Status {
        /// The sector number
        number: u64,
        /// Print every transition
        #[arg(long)]
        log: bool,
    },
    /// Remove a sector: stop its work and delete its files (admin token)
    Remove {
        /// The sector number
        number: u64,
        /// Needed when the sector is on chain: its pledge and power are lost
        #[arg(long)]
        really_do_it: bool,
    },
    /// Retry a failed sector now, even after its retries are used up
    Restart {
        /// The sector number
        number: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProvingCommand {
    /// The current deadline, the next ones with sectors, power, sector counts and recent proofs
    Info {
        /// Print the API's JSON answer instead of a summary
        #[arg(long)]
        json: bool,
    },
    /// Every deadline: its window, partitions, proofs posted this period and sector counts
    Deadlines,
    /// One deadline's partitions and their sectors
    Deadline {
        /// The deadline index (0 to 47)
        index: u64,
    },
    /// Faulty sectors, and the epoch by which each is terminated if it stays faulty
    Faults,
    /// Run the fault check of a deadline now (reads the challenged leaves of every sector)
    Check {
        /// The deadline index (0 to 47)
        deadline: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Attach a directory for sector files: --seal for sealing scratch space, --store for
    /// finalized sectors, or both (admin token)
    Attach {
        /// The directory; it must exist and be writable by the node
        path: PathBuf,
        /// Use it for sealing (unsealed, sealed and cache files while a sector is sealed)
        #[arg(long)]
        seal: bool,
        /// Use it for long-term storage of finalized sectors
        #[arg(long)]
        store: bool,
        /// Preference among paths with room: higher gets more sectors [default: 10]
        #[arg(long)]
        weight: Option<u64>,
        /// Cap on the bytes Ferrite puts there, e.g. 500GiB [default: the whole filesystem]
        #[arg(long, value_name = "SIZE")]
        max_size: Option<crate::commands::ByteSize>,
    },
    /// Detach a path (refused while a task holds space on it); its files stay on disk (admin token)
    Detach {
        /// The path's id, as `storage list` shows it
        id: u64,
    },
    /// Every path: kind, weight, capacity, used, reserved and available space
    List,
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Print a new API token with a permission and every level below it
    CreateToken {
        /// read, write, sign or admin
        #[arg(long)]
        perm: String,
    },
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The node's gRPC address for workers, e.g. http://10.0.0.1:2346
    /// (the node writes it to `<home>/grpc`)
    #[arg(long, value_name = "URL")]
    pub node: String,
    /// File holding the node's worker token (`<home>/worker-token` on the node)
    #[arg(long, value_name = "FILE", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// The node's worker token itself (prefer --token-file or the environment)
    #[arg(long, env = "FERRITE_WORKER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Task kinds this worker takes: addpiece, pc1, pc2, c1, c2, finalize, and
    /// SnapDeals' update-encode and update-prove
    #[arg(
        long,
        value_name = "KINDS",
        value_delimiter = ',',
        default_value = "addpiece,pc1,pc2,c1,c2,finalize,update-encode,update-prove"
    )]
    pub tasks: Vec<ferrite_cluster::TaskKind>,
    /// A storage path this host mounts where the node has it (attached on the node
    /// with `ferrite storage attach`); repeat for several. Tasks of sectors on other
    /// paths go to other workers
    #[arg(long, value_name = "PATH")]
    pub storage: Vec<PathBuf>,
    /// The worker's name, stable across restarts. Default: the host name
    #[arg(long, value_name = "NAME")]
    pub id: Option<String>,
    /// CPU cores the node may fill. Default: all of this host's
    #[arg(long, value_name = "N")]
    pub cores: Option<u32>,
    /// RAM the node may fill, e.g. 256GiB. Default: all of this host's
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<crate::commands::ByteSize>,
    /// GPU slots to offer the node (a C2, PoSt, PC2 or SnapDeals proof takes one).
    /// Default: each card this binary proves on ([proofs.gpu]) times
    /// [proofs.gpu] tasks_per_gpu; 0 in a build without GPU support. 0 keeps
    /// GPU work off this worker's cards
    #[arg(long, value_name = "N")]
    pub gpus: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum WorkersCommand {
    /// The connected workers: host, resources, task kinds, storage paths, running tasks
    List,
    /// The tasks the scheduler holds: running (on which worker, for how long) and queued
    Jobs,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Propose a storage deal: compute the file's CommP, sign the proposal with a key of the
    /// node's wallet and send it to the provider over libp2p
    Deal(ClientDealArgs),
    /// Ask the provider where a deal stands (signed with the client's key)
    DealStatus(ClientDealStatusArgs),
    /// Retrieve a piece (by piece CID) or a DAG (by CID, as a CAR) from a provider's retrieval
    /// server, and check it: the piece's CommP, or every block's hash and the DAG's completeness
    Retrieve {
        /// A piece CID (baga… or bafkzcib…) or a payload CID
        cid: String,
        /// The provider's retrieval URL, e.g. http://127.0.0.1:2347
        #[arg(long, value_name = "URL")]
        provider: String,
        /// Where to write it [default: the CID, in the working directory]
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Add FIL to the client's storage-market escrow, which pays for its deals, and wait for it
    AddBalance {
        /// Amount in FIL (decimals allowed, e.g. 0.5)
        amount: String,
        /// The client address [default: the node's default wallet address]
        #[arg(long, value_name = "ADDRESS")]
        from: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ClientDealArgs {
    /// The storage provider's miner address, e.g. f01000
    #[arg(long, value_name = "ADDRESS")]
    pub provider: String,
    /// The payload (usually a CAR): its piece CID and size are computed from it
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
    /// Where the provider downloads the file (http or https). Without it the deal is offline:
    /// the provider imports the file with `ferrite deals import-data`
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// A header the provider sends with its download, e.g. "Authorization: Bearer T"; repeatable
    #[arg(long, value_name = "NAME: VALUE", requires = "url")]
    pub http_header: Vec<String>,
    /// Deal length in epochs (Boost's default: 180 days)
    #[arg(long, value_name = "EPOCHS", default_value_t = 518_400)]
    pub duration: u64,
    /// The epoch by which the provider must have sealed the deal [default: head + --start-delay]
    #[arg(long, value_name = "EPOCH", conflicts_with = "start_delay")]
    pub start_epoch: Option<i64>,
    /// Epochs from the chain head to the start epoch (Boost's default: 2 days)
    #[arg(
        long,
        value_name = "EPOCHS",
        default_value_t = 5_760,
        alias = "start-epoch-head-offset"
    )]
    pub start_delay: u64,
    /// Storage price in attoFIL per GiB (padded) per epoch, as Boost's --storage-price; the
    /// proposal's price per epoch is this times the piece size, rounded up
    #[arg(
        long,
        value_name = "ATTOFIL",
        default_value = "1",
        alias = "storage-price"
    )]
    pub price: String,
    /// Collateral the provider locks, in attoFIL [default: the market's minimum for this piece
    /// size plus 20%, as Boost does]
    #[arg(long, value_name = "ATTOFIL")]
    pub provider_collateral: Option<String>,
    /// A verified (FIL+) deal, paid from the client's datacap
    #[arg(long)]
    pub verified: bool,
    /// The client address; its key must be in the node's wallet [default: the node's default
    /// wallet address]
    #[arg(long, value_name = "ADDRESS", alias = "wallet")]
    pub from: Option<String>,
    /// The payload's root CID (the CAR root) [default: the piece CID]
    #[arg(long, value_name = "CID")]
    pub payload_cid: Option<String>,
    /// The proposal's label [default: the payload CID]
    #[arg(long)]
    pub label: Option<String>,
    /// The provider's libp2p address, e.g. /ip4/1.2.3.4/tcp/24001/p2p/12D3Koo… [default: its
    /// PeerId and Multiaddrs on chain]
    #[arg(long, value_name = "MULTIADDR")]
    pub provider_peer: Option<String>,
    /// Ask the provider to drop its unsealed copy once the sector is sealed
    #[arg(long)]
    pub remove_unsealed_copy: bool,
    /// Ask the provider not to announce the deal to IPNI
    #[arg(long)]
    pub skip_ipni_announce: bool,
    /// Seconds to wait for the provider's answer
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct ClientDealStatusArgs {
    /// The deal's UUID, as `client deal` printed it
    pub uuid: String,
    /// The storage provider's miner address, e.g. f01000
    #[arg(long, value_name = "ADDRESS")]
    pub provider: String,
    /// The provider's libp2p address, e.g. /ip4/1.2.3.4/tcp/24001/p2p/12D3Koo… [default: its
    /// PeerId and Multiaddrs on chain]
    #[arg(long, value_name = "MULTIADDR")]
    pub provider_peer: Option<String>,
    /// The deal's client address, whose key signs the request [default: the node's default
    /// wallet address]
    #[arg(long, value_name = "ADDRESS", alias = "wallet")]
    pub from: Option<String>,
    /// Seconds to wait for the provider's answer
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
}

/// `ferrite wallet`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
The keystore is <home>/keystore, one file per address. A plain keystore (no keystore.json, as \
Lotus has; what `ferrite devnet` makes) keeps Lotus's KeyInfo JSON in the clear and is for \
devnets and tests. On a real network, run `ferrite wallet init-encrypted` before the first key: \
every key file is then sealed with a key derived from a passphrase. The passphrase of an \
encrypted keystore comes from --passphrase-file FILE, else FERRITE_KEYSTORE_PASSPHRASE, else a \
prompt when stdin is a terminal.")]
pub struct WalletArgs {
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    #[command(subcommand)]
    pub command: WalletCommand,
}

/// Where an encrypted keystore's passphrase comes from: the file, else the
/// environment, else a prompt when stdin is a terminal.
#[derive(Debug, Clone, Args)]
pub struct PassphraseArgs {
    /// File holding the keystore's passphrase (its final newline is dropped)
    /// [env FERRITE_KEYSTORE_PASSPHRASE holds the passphrase itself]
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// The passphrase, from the environment only (a command line is visible to every user)
    #[arg(
        long = "passphrase",
        env = "FERRITE_KEYSTORE_PASSPHRASE",
        hide = true,
        hide_env_values = true
    )]
    pub passphrase: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum WalletCommand {
    /// The keystore's addresses, their key types and the default one (no passphrase needed)
    List,
    /// Make a new key, store it and print its address
    New {
        /// secp256k1 or bls
        #[arg(default_value = "secp256k1")]
        key_type: ferrite_chain::wallet::KeyType,
    },
    /// Import a key as `lotus wallet export` prints it (the hex of Lotus's KeyInfo JSON), or
    /// that JSON itself
    Import {
        /// The file holding it; `-` or none reads stdin (without echo at a terminal)
        file: Option<PathBuf>,
    },
    /// Print a private key as `lotus wallet export` does (the hex of its KeyInfo JSON), which
    /// `lotus wallet import` and `ferrite wallet import` read. Whoever sees it owns the funds
    Export {
        /// The key's address
        address: String,
    },
    /// Make <home>/keystore an encrypted keystore: every key stored after this is sealed
    /// (XChaCha20-Poly1305, the key derived from a passphrase by Argon2id). It must hold no
    /// key yet; at a terminal the passphrase is asked twice
    InitEncrypted {
        /// Argon2id memory in KiB [default: 65536, i.e. 64 MiB]
        #[arg(long, value_name = "KIB")]
        kdf_memory_kib: Option<u32>,
        /// Argon2id passes over the memory [default: 3]
        #[arg(long, value_name = "N")]
        kdf_iterations: Option<u32>,
    },
}
