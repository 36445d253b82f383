//! `ferrite piece commp FILE`.

use std::fs::File;
use std::io::{BufReader, Read};

use anyhow::Context;
use ferrite_proofs::commp;
use ferrite_types::PaddedPieceSize;

use crate::cli::PieceCommand;

pub fn run(cmd: PieceCommand) -> anyhow::Result<()> {
    match cmd {
        PieceCommand::Commp { file } => {
            let f = File::open(&file).with_context(|| format!("open {}", file.display()))?;
            let payload = f
                .metadata()
                .with_context(|| format!("stat {}", file.display()))?
                .len();
            let padded = PaddedPieceSize::for_payload(payload)?;
            let bar = super::byte_bar("commp".to_string(), Some(payload));
            // Zero-fill up to the piece's payload size, as Boost and Lotus do.
            let zeros = std::io::repeat(0).take(padded.unpadded().bytes() - payload);
            let source = bar.wrap_read(BufReader::new(f)).chain(zeros);
            // Streaming, in constant memory, whatever the file's size.
            let piece = commp::piece_commitment(source, padded.unpadded())
                .with_context(|| format!("compute the piece commitment of {}", file.display()))?;
            bar.finish_and_clear();
            println!("Piece CID:    {}", piece.comm_p);
            println!("Padded size:  {}", piece.size);
            println!("Payload size: {payload}");
            Ok(())
        }
    }
}
