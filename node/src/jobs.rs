//! Sealing jobs on the wire: ferrite-sealing's [`Job`] and [`JobOutput`] to
//! and from ferrite-proto's task payloads and outputs. The node converts a
//! job into a payload for a worker; the worker converts it back, runs it,
//! and converts the output for the node.

use std::collections::HashMap;
use std::path::PathBuf;

use ferrite_proto::{
    AddPieceTask, C1Output, C1Task, C2Task, DealPieceSource, FinalizeTask, Pc1Output, Pc1Task,
    Pc2Task, PieceToAdd, ProtoError, SealProofBytes, SectorPaths, TaskOutput, TaskPayload,
    UnsealTask, UpdateEncodeTask, UpdateProofBytes, UpdateProveTask,
};
use ferrite_sealing::tasks::SectorFiles;
use ferrite_sealing::{Job, JobOutput, JobPiece, PoRepProof};
use ferrite_types::DealId;

use crate::staging::PieceUrls;

fn paths_of(files: &SectorFiles, field: &str) -> Result<SectorPaths, ProtoError> {
    let host = |p: &PathBuf, name: &str| {
        ferrite_proto::HostPath::from_path(p).map_err(|e| e.at(&format!("{field}.{name}")))
    };
    Ok(SectorPaths {
        unsealed: host(&files.unsealed, "unsealed")?,
        sealed: host(&files.sealed, "sealed")?,
        cache: host(&files.cache, "cache")?,
    })
}

/// The sector directory is the sealed file's parent (`s-t0<miner>-<n>`).
fn files_of(paths: &SectorPaths) -> SectorFiles {
    let sealed = paths.sealed.as_path().to_path_buf();
    SectorFiles {
        dir: sealed
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| PathBuf::from("/")),
        unsealed: paths.unsealed.as_path().to_path_buf(),
        sealed,
        cache: paths.cache.as_path().to_path_buf(),
    }
}

/// The payload that asks a worker for `job`. Deal data travels by URL:
/// `urls` names where the worker downloads each staged file from.
pub fn payload_of(job: &Job, urls: Option<&PieceUrls>) -> Result<TaskPayload, ProtoError> {
    Ok(match job {
        Job::AddPiece {
            proof,
            files,
            existing,
            adding,
        } => TaskPayload::AddPiece(AddPieceTask {
            proof: *proof,
            paths: paths_of(files, "add_piece.paths")?,
            existing: existing.clone(),
            adding: adding
                .iter()
                .map(|piece| match piece {
                    JobPiece::Zeros(size) => Ok(PieceToAdd::Filler(*size)),
                    JobPiece::Deal { deal, piece, path } => {
                        let urls = urls.ok_or_else(|| {
                            ProtoError::invalid(
                                "add_piece.adding",
                                format!("deal {deal}: the node serves no staged data to workers"),
                            )
                        })?;
                        Ok(PieceToAdd::Deal(DealPieceSource {
                            deal: *deal,
                            piece: *piece,
                            source: urls.url_of(path)?,
                        }))
                    }
                })
                .collect::<Result<_, _>>()?,
        }),
        Job::Pc1 {
            proof,
            files,
            ticket,
            pieces,
            ..
        } => TaskPayload::Pc1(Pc1Task {
            proof: *proof,
            paths: paths_of(files, "pc1.paths")?,
            ticket: *ticket,
            pieces: pieces.clone(),
        }),
        Job::Pc2 { proof, files, pc1 } => TaskPayload::Pc2(Pc2Task {
            proof: *proof,
            paths: paths_of(files, "pc2.paths")?,
            pc1_output: Pc1Output(pc1.0.clone()),
        }),
        Job::C1 {
            proof,
            files,
            ticket,
            seed,
            comm_r,
            comm_d,
            pieces,
            ..
        } => TaskPayload::C1(C1Task {
            proof: *proof,
            paths: paths_of(files, "c1.paths")?,
            ticket: *ticket,
            seed: *seed,
            comm_r: *comm_r,
            comm_d: *comm_d,
            pieces: pieces.clone(),
        }),
        Job::C2 { proof, c1, .. } => TaskPayload::C2(C2Task {
            proof: *proof,
            c1_output: C1Output(c1.clone()),
        }),
        Job::UpdateEncode {
            proof,
            files,
            pieces,
        } => TaskPayload::UpdateEncode(UpdateEncodeTask {
            proof: *proof,
            paths: paths_of(files, "update_encode.paths")?,
            pieces: pieces.clone(),
        }),
        Job::UpdateProve {
            proof,
            files,
            comm_r_old,
            comm_r_new,
            comm_d_new,
        } => TaskPayload::UpdateProve(UpdateProveTask {
            proof: *proof,
            paths: paths_of(files, "update_prove.paths")?,
            comm_r_old: *comm_r_old,
            comm_r_new: *comm_r_new,
            comm_d_new: *comm_d_new,
        }),
        Job::Unseal {
            proof,
            files,
            comm_d,
            ticket,
            ..
        } => TaskPayload::Unseal(UnsealTask {
            proof: *proof,
            paths: paths_of(files, "unseal.paths")?,
            comm_d: *comm_d,
            ticket: *ticket,
            offset: 0,
            length: proof.sector_size().bytes() / 128 * 127,
        }),
        Job::Finalize { proof, from, to } => TaskPayload::Finalize(FinalizeTask {
            proof: *proof,
            from: paths_of(from, "finalize.from")?,
            to: paths_of(to, "finalize.to")?,
            keep_unsealed: true,
        }),
    })
}

/// The job a worker runs for `payload` on `sector`, or why this worker
/// cannot run it. Deal pieces are read from the files `fetched` names (the
/// worker downloaded them first, see [`crate::staging::fetch`]).
pub fn job_of(
    sector: ferrite_types::SectorId,
    payload: TaskPayload,
    fetched: &HashMap<DealId, PathBuf>,
) -> Result<Job, String> {
    Ok(match payload {
        TaskPayload::AddPiece(t) => {
            let mut adding = Vec::with_capacity(t.adding.len());
            for piece in t.adding {
                match piece {
                    PieceToAdd::Filler(size) => adding.push(JobPiece::Zeros(size)),
                    PieceToAdd::Deal(d) => {
                        let path = fetched
                            .get(&d.deal)
                            .ok_or_else(|| format!("deal {}: its data was not fetched", d.deal))?;
                        adding.push(JobPiece::Deal {
                            deal: d.deal,
                            piece: d.piece,
                            path: path.clone(),
                        });
                    }
                }
            }
            Job::AddPiece {
                proof: t.proof,
                files: files_of(&t.paths),
                existing: t.existing,
                adding,
            }
        }
        TaskPayload::Pc1(t) => Job::Pc1 {
            proof: t.proof,
            sector,
            files: files_of(&t.paths),
            ticket: t.ticket,
            pieces: t.pieces,
        },
        TaskPayload::Pc2(t) => Job::Pc2 {
            proof: t.proof,
            files: files_of(&t.paths),
            pc1: ferrite_sealing::Pc1Output(t.pc1_output.0),
        },
        TaskPayload::C1(t) => Job::C1 {
            proof: t.proof,
            sector,
            files: files_of(&t.paths),
            ticket: t.ticket,
            seed: t.seed,
            comm_r: t.comm_r,
            comm_d: t.comm_d,
            pieces: t.pieces,
        },
        TaskPayload::C2(t) => Job::C2 {
            proof: t.proof,
            sector,
            c1: t.c1_output.0,
        },
        TaskPayload::UpdateEncode(t) => Job::UpdateEncode {
            proof: t.proof,
            files: files_of(&t.paths),
            pieces: t.pieces,
        },
        TaskPayload::UpdateProve(t) => Job::UpdateProve {
            proof: t.proof,
            files: files_of(&t.paths),
            comm_r_old: t.comm_r_old,
            comm_r_new: t.comm_r_new,
            comm_d_new: t.comm_d_new,
        },
        TaskPayload::Unseal(t) => {
            let whole = t.proof.sector_size().bytes() / 128 * 127;
            if t.offset != 0 || t.length != whole {
                return Err(format!(
                    "unseal of bytes {}+{}: this worker unseals whole sectors ({whole} bytes)",
                    t.offset, t.length
                ));
            }
            Job::Unseal {
                proof: t.proof,
                sector,
                files: files_of(&t.paths),
                comm_d: t.comm_d,
                ticket: t.ticket,
            }
        }
        TaskPayload::Finalize(t) => {
            if !t.keep_unsealed {
                return Err("finalize without keeping the unsealed copy is not supported".into());
            }
            Job::Finalize {
                proof: t.proof,
                from: files_of(&t.from),
                to: files_of(&t.to),
            }
        }
        other => {
            return Err(format!(
                "this worker does not run {} tasks yet",
                other.kind().name()
            ));
        }
    })
}

/// A job's output as the worker reports it.
pub fn output_of(out: JobOutput) -> TaskOutput {
    match out {
        JobOutput::AddPiece(pieces) => TaskOutput::AddPiece(pieces),
        JobOutput::Pc1(o) => TaskOutput::Pc1(Pc1Output(o.0)),
        JobOutput::Pc2 { comm_r, comm_d } => TaskOutput::Pc2 { comm_r, comm_d },
        JobOutput::C1(bytes) => TaskOutput::C1(C1Output(bytes)),
        JobOutput::C2(proof) => TaskOutput::C2(SealProofBytes(proof.0)),
        JobOutput::UpdateEncoded {
            comm_r_new,
            comm_d_new,
        } => TaskOutput::UpdateEncode {
            comm_r_new,
            comm_d_new,
        },
        JobOutput::UpdateProof(bytes) => TaskOutput::UpdateProve(UpdateProofBytes(bytes)),
        JobOutput::Unsealed => TaskOutput::Unseal,
        JobOutput::Finalized => TaskOutput::Finalize,
    }
}

/// A worker's output as the pipeline takes it; `None` for the outputs of
/// kinds that are not sealing jobs.
pub fn job_output_of(out: TaskOutput) -> Option<JobOutput> {
    Some(match out {
        TaskOutput::AddPiece(pieces) => JobOutput::AddPiece(pieces),
        TaskOutput::Pc1(o) => JobOutput::Pc1(ferrite_sealing::Pc1Output(o.0)),
        TaskOutput::Pc2 { comm_r, comm_d } => JobOutput::Pc2 { comm_r, comm_d },
        TaskOutput::C1(o) => JobOutput::C1(o.0),
        TaskOutput::C2(p) => JobOutput::C2(PoRepProof(p.0)),
        TaskOutput::UpdateEncode {
            comm_r_new,
            comm_d_new,
        } => JobOutput::UpdateEncoded {
            comm_r_new,
            comm_d_new,
        },
        TaskOutput::UpdateProve(p) => JobOutput::UpdateProof(p.0),
        TaskOutput::Finalize => JobOutput::Finalized,
        TaskOutput::Unseal => JobOutput::Unsealed,
        TaskOutput::Fetch { .. } | TaskOutput::WindowPost(_) | TaskOutput::WinningPost(_) => {
            return None;
        }
    })
}

#[cfg(test)]
mod tests {
    use ferrite_types::{
        ActorId, CommD, CommP, CommR, PaddedPieceSize, PieceInfo, SealProof, SectorId,
        SectorNumber, SectorSize,
    };

    use super::*;

    #[test]
    fn a_job_survives_the_trip_to_a_worker() {
        let id = SectorId::new(ActorId(1000), SectorNumber(4));
        let files = SectorFiles::new(std::path::Path::new("/seal"), id);
        let proof = SealProof::new(SectorSize::S2KiB);
        let jobs = [
            Job::AddPiece {
                proof,
                files: files.clone(),
                existing: vec![],
                adding: vec![JobPiece::Zeros(PaddedPieceSize::new(2048).unwrap())],
            },
            Job::Pc2 {
                proof,
                files: files.clone(),
                pc1: ferrite_sealing::Pc1Output(vec![1, 2, 3]),
            },
            Job::C2 {
                proof,
                sector: id,
                c1: vec![9; 10],
            },
            Job::Finalize {
                proof,
                from: files.clone(),
                to: SectorFiles::new(std::path::Path::new("/store"), id),
            },
            Job::UpdateEncode {
                proof,
                files: files.clone(),
                pieces: vec![PieceInfo {
                    comm_p: CommP([7; 32]),
                    size: PaddedPieceSize::new(2048).unwrap(),
                }],
            },
            Job::UpdateProve {
                proof,
                files: files.clone(),
                comm_r_old: CommR([1; 32]),
                comm_r_new: CommR([2; 32]),
                comm_d_new: CommD([3; 32]),
            },
            Job::Unseal {
                proof,
                sector: id,
                files: files.clone(),
                comm_d: CommD([4; 32]),
                ticket: ferrite_types::Ticket([5; 32]),
            },
        ];
        for job in jobs {
            let back = job_of(id, payload_of(&job, None).unwrap(), &HashMap::new()).unwrap();
            assert_eq!(back, job);
        }
    }

    #[test]
    fn the_update_files_are_where_the_worker_looks_for_them() {
        // Only the sealed file's directory travels; the update's paths
        // derive from it on the worker.
        let id = SectorId::new(ActorId(1000), SectorNumber(4));
        let files = SectorFiles::new(std::path::Path::new("/seal"), id);
        let job = Job::UpdateProve {
            proof: SealProof::new(SectorSize::S2KiB),
            files: files.clone(),
            comm_r_old: CommR([1; 32]),
            comm_r_new: CommR([2; 32]),
            comm_d_new: CommD([3; 32]),
        };
        let Job::UpdateProve { files: back, .. } =
            job_of(id, payload_of(&job, None).unwrap(), &HashMap::new()).unwrap()
        else {
            panic!("not an UpdateProve job")
        };
        assert_eq!(back.update(), files.update());
        assert_eq!(back.update_cache(), files.update_cache());
    }

    #[test]
    fn sealing_outputs_survive_the_trip_back() {
        let outputs = [
            JobOutput::Pc2 {
                comm_r: CommR([1; 32]),
                comm_d: CommD([2; 32]),
            },
            JobOutput::C2(PoRepProof(vec![5; 192])),
            JobOutput::UpdateEncoded {
                comm_r_new: CommR([3; 32]),
                comm_d_new: CommD([4; 32]),
            },
            JobOutput::UpdateProof(vec![6; 192]),
            JobOutput::Finalized,
        ];
        for out in outputs {
            let wire = output_of(out.clone());
            assert_eq!(wire.kind(), out.kind());
            assert_eq!(job_output_of(wire), Some(out));
        }
    }

    #[test]
    fn deal_data_travels_as_a_url_and_comes_back_as_the_fetched_file() {
        use ferrite_types::{CommP, PieceInfo};
        let id = SectorId::new(ActorId(1000), SectorNumber(4));
        let piece = PieceInfo {
            comm_p: CommP([7; 32]),
            size: PaddedPieceSize::new(1024).unwrap(),
        };
        let job = |path: &str| Job::AddPiece {
            proof: SealProof::new(SectorSize::S2KiB),
            files: SectorFiles::new(std::path::Path::new("/seal"), id),
            existing: vec![],
            adding: vec![
                JobPiece::Deal {
                    deal: DealId(9),
                    piece,
                    path: PathBuf::from(path),
                },
                JobPiece::Zeros(PaddedPieceSize::new(1024).unwrap()),
            ],
        };
        let urls = PieceUrls {
            base: "http://127.0.0.1:9".to_string(),
            dir: PathBuf::from("/home/staging"),
        };
        // Without the node's staging route, or outside the staging area: refused.
        assert!(payload_of(&job("/home/staging/d.data"), None).is_err());
        assert!(payload_of(&job("/elsewhere/d.data"), Some(&urls)).is_err());
        let payload = payload_of(&job("/home/staging/d.data"), Some(&urls)).unwrap();
        let TaskPayload::AddPiece(t) = &payload else {
            panic!("not an AddPiece payload")
        };
        let PieceToAdd::Deal(d) = &t.adding[0] else {
            panic!("not a deal piece")
        };
        assert_eq!(d.source.as_str(), "http://127.0.0.1:9/staging/d.data");
        // A worker that did not fetch the data refuses the task.
        assert!(job_of(id, payload.clone(), &HashMap::new()).is_err());
        let fetched = HashMap::from([(DealId(9), PathBuf::from("/seal/deal-9.piece"))]);
        assert_eq!(
            job_of(id, payload, &fetched).unwrap(),
            job("/seal/deal-9.piece")
        );
    }

    #[test]
    fn a_relative_path_cannot_travel() {
        let id = SectorId::new(ActorId(1000), SectorNumber(4));
        let job = Job::Pc2 {
            proof: SealProof::new(SectorSize::S2KiB),
            files: SectorFiles::new(std::path::Path::new("relative"), id),
            pc1: ferrite_sealing::Pc1Output(vec![1]),
        };
        let err = payload_of(&job, None).unwrap_err();
        assert!(err.field().starts_with("pc2.paths."), "{err}");
    }
}
