//! The Results API SecurityFinding.
