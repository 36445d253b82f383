//! `ferrite piece commp FILE`.

use std::fs::File;

use anyhow::Context;
use ferrite_proofs::commp::{CommpHasher, CommpPool};

use crate::cli::PieceCommand;

pub fn run(cmd: PieceCommand) -> anyhow::Result<()> {
    match cmd {
        PieceCommand::Commp { file } => {
            let f = File::open(&file).with_context(|| format!("open {}", file.display()))?;
            let size = f
                .metadata()
                .with_context(|| format!("stat {}", file.display()))?
                .len();
            // Streaming, in constant memory, on every core; the zero fill up
            // to the piece size (as Boost and Lotus pad) costs nothing. The
            // size only scales the bar: the piece is what was read.
            let pool = CommpPool::all_cores().context("start the CommP threads")?;
            let mut hasher = CommpHasher::new(&pool);
            let bar = super::byte_bar("commp".to_string(), Some(size));
            hasher
                .read_from(bar.wrap_read(f))
                .with_context(|| format!("read {}", file.display()))?;
            bar.finish_and_clear();
            let piece = hasher
                .finish()
                .with_context(|| format!("compute the piece commitment of {}", file.display()))?;
            println!("Piece CID:    {}", piece.comm_p());
            println!("Piece CID v2: {piece}");
            println!("Padded size:  {}", piece.size());
            println!("Payload size: {}", piece.payload_size());
            Ok(())
        }
    }
}
