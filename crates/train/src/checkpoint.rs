//! Checkpoints: a [`Model`]'s tensors as f32 safetensors with the architecture in the
//! metadata.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use tch::{Device, Kind, Tensor};

use crate::model::{Model, ModelKind, ModelSpec};
use crate::TrainError;

const META_KIND: &str = "specnorm.model.kind";
const META_IN: &str = "specnorm.model.in_channels";
const META_N: &str = "specnorm.model.n_classes";
const META_FRONT: &str = "specnorm.model.front";

impl Model {
    /// Saves all tensors as f32 safetensors, atomically ([`specnorm_atomic::write`]: a
    /// temporary sibling, synced, then renamed). The metadata holds the caller's entries plus
    /// `specnorm.model.kind`, `specnorm.model.in_channels`, `specnorm.model.n_classes` and, for
    /// a model with a front layer, `specnorm.model.front` (its [`LearnedPcenConfig`] as JSON);
    /// these win on key clashes.
    ///
    /// [`LearnedPcenConfig`]: crate::LearnedPcenConfig
    pub fn save(&self, path: &Path, metadata: &BTreeMap<String, String>) -> Result<(), TrainError> {
        let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::with_capacity(self.order.len());
        for name in &self.order {
            let t = self.tensors[name]
                .to_device(Device::Cpu)
                .to_kind(Kind::Float)
                .contiguous();
            let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
            let n = t.numel();
            let mut v = vec![0f32; n];
            t.f_copy_data(&mut v, n)?;
            let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
            owned.push((name.clone(), shape, bytes));
        }
        let mut views = Vec::with_capacity(owned.len());
        for (name, shape, bytes) in &owned {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                    .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
            views.push((name.clone(), view));
        }
        let mut meta: HashMap<String, String> = metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        meta.insert(META_KIND.into(), self.spec.kind.as_str().into());
        meta.insert(META_IN.into(), self.spec.in_channels.to_string());
        meta.insert(META_N.into(), self.spec.n_classes.to_string());
        match &self.front {
            Some(f) => {
                let json = serde_json::to_string(f)
                    .map_err(|e| TrainError::Checkpoint(format!("{META_FRONT}: {e}")))?;
                meta.insert(META_FRONT.into(), json);
            }
            None => {
                meta.remove(META_FRONT);
            }
        }
        let buf = safetensors::serialize(views, Some(meta))
            .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        if path.file_name().is_none() {
            return Err(TrainError::Checkpoint(format!(
                "not a file path: {}",
                path.display()
            )));
        }
        specnorm_atomic::write(path, &buf).map_err(|e| TrainError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    }

    /// Loads a checkpoint written by [`Model::save`] onto `device`; returns the model and the
    /// full metadata map.
    pub fn load(
        path: &Path,
        device: Device,
    ) -> Result<(Model, BTreeMap<String, String>), TrainError> {
        let bytes = std::fs::read(path).map_err(|e| TrainError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let ck = |e: safetensors::SafeTensorError| TrainError::Checkpoint(e.to_string());
        let (_, md) = safetensors::SafeTensors::read_metadata(&bytes).map_err(ck)?;
        let meta: BTreeMap<String, String> = md
            .metadata()
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let field = |k: &str| {
            meta.get(k)
                .ok_or_else(|| TrainError::Checkpoint(format!("metadata key {k} missing")))
        };
        let kind = ModelKind::parse(field(META_KIND)?)?;
        let parse_i = |k: &str| -> Result<i64, TrainError> {
            field(k)?
                .parse::<i64>()
                .map_err(|e| TrainError::Checkpoint(format!("{k}: {e}")))
        };
        let spec = ModelSpec {
            kind,
            in_channels: parse_i(META_IN)?,
            n_classes: parse_i(META_N)?,
        };
        let front = meta
            .get(META_FRONT)
            .map(|j| {
                serde_json::from_str(j)
                    .map_err(|e| TrainError::Checkpoint(format!("{META_FRONT}: {e}")))
            })
            .transpose()?;
        let model = Model::with_front(spec, front, device, 0)?;
        let st = safetensors::SafeTensors::deserialize(&bytes).map_err(ck)?;
        for name in &model.order {
            let view = st.tensor(name).map_err(ck)?;
            let dst = &model.tensors[name];
            let want: Vec<usize> = dst.size().iter().map(|&d| d as usize).collect();
            if view.dtype() != safetensors::Dtype::F32 || view.shape() != want.as_slice() {
                return Err(TrainError::Checkpoint(format!(
                    "tensor {name}: expected f32 {want:?}, found {:?} {:?}",
                    view.dtype(),
                    view.shape()
                )));
            }
            let vals: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let src = Tensor::from_slice(&vals)
                .reshape(dst.size())
                .to_device(device);
            let mut d = dst.shallow_clone();
            tch::no_grad(|| d.f_copy_(&src))?;
        }
        if st.names().len() != model.order.len() {
            return Err(TrainError::Checkpoint(format!(
                "checkpoint has {} tensors, model {} expects {}",
                st.names().len(),
                spec.kind.as_str(),
                model.order.len()
            )));
        }
        Ok((model, meta))
    }
}
