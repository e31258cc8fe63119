//! Object stores: where berserkr reads its inputs and writes its outputs.
