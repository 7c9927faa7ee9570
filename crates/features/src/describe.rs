//! [`FeatureConfig::describe`]: the front end in words, for reports.

use specnorm_dsp::{MelNorm, MelScale, PadMode, Scale, WindowKind};

use crate::FeatureConfig;

impl FeatureConfig {
    /// One sentence describing the front end, e.g. "16 kHz mono, waveform normalized, each clip
    /// padded or trimmed to 5 s; 400-point Hann STFT every 200 samples (25 ms windows, 12.5 ms
    /// hop), centred with reflect padding; 201 linear frequency bins up to 8 kHz; power in dB".
    pub fn describe(&self) -> String {
        let sr = f64::from(self.sample_rate);
        let st = &self.spectrogram.stft;
        let khz = |hz: f64| {
            if hz >= 1000.0 {
                format!("{} kHz", trim(hz / 1000.0))
            } else {
                format!("{} Hz", trim(hz))
            }
        };
        let ms = |samples: usize| trim(1000.0 * samples as f64 / sr);
        let mut s = format!("{} mono", khz(sr));
        if self.waveform_norm {
            s += ", waveform normalized";
        }
        match self.seconds {
            Some(secs) => s += &format!(", each clip padded or trimmed to {} s", trim(secs.into())),
            None => s += ", each clip kept at its own length",
        }
        let window = match st.window {
            WindowKind::Hann => "Hann",
            WindowKind::Hamming => "Hamming",
            WindowKind::Rectangular => "rectangular",
        };
        s += &format!(
            "; {}-point {window} STFT every {} samples ({} ms windows, {} ms hop)",
            st.n_fft,
            st.hop_length,
            ms(st.win_length),
            ms(st.hop_length)
        );
        if st.center {
            let pad = match st.pad_mode {
                PadMode::Reflect => "reflect",
                PadMode::Constant => "zero",
            };
            s += &format!(", centred with {pad} padding");
        }
        match &self.spectrogram.mel {
            Some(m) => {
                let scale = match m.scale {
                    MelScale::Htk => "HTK",
                    MelScale::Slaney => "Slaney",
                };
                let norm = match m.norm {
                    MelNorm::None => "",
                    MelNorm::Slaney => ", Slaney-normalized",
                };
                s += &format!(
                    "; {} {scale} mel bands from {} to {}{norm}",
                    m.n_mels,
                    khz(m.f_min.into()),
                    khz(m.f_max_for(self.sample_rate).into())
                );
            }
            None => {
                s += &format!(
                    "; {} linear frequency bins up to {}",
                    st.n_freqs(),
                    khz(sr / 2.0)
                )
            }
        }
        let what = if st.power == 1.0 {
            "magnitude"
        } else {
            "power"
        };
        s += &match self.spectrogram.scale {
            Scale::Power => format!("; {what} as is"),
            Scale::Db { top_db: None } => format!("; {what} in dB"),
            Scale::Db { top_db: Some(t) } => format!(
                "; {what} in dB, {} dB below the peak at most",
                trim(t.into())
            ),
            Scale::Ln { eps } => format!("; natural log of the {what} (floor {eps:e})"),
        };
        s
    }
}

/// `x` without trailing zeros (at most 3 decimals).
fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_and_a_mel_front_end_in_words() {
        assert_eq!(
            FeatureConfig::default().describe(),
            "16 kHz mono, waveform normalized, each clip padded or trimmed to 5 s; 400-point \
             Hann STFT every 200 samples (25 ms windows, 12.5 ms hop), centred with reflect \
             padding; 201 linear frequency bins up to 8 kHz; power in dB"
        );
        let mut c = FeatureConfig {
            sample_rate: 8000,
            seconds: Some(1.0),
            waveform_norm: false,
            ..FeatureConfig::default()
        };
        c.spectrogram.mel = Some(specnorm_dsp::MelConfig {
            n_mels: 40,
            f_min: 50.0,
            ..specnorm_dsp::MelConfig::default()
        });
        c.spectrogram.scale = Scale::Db { top_db: Some(80.0) };
        assert_eq!(
            c.describe(),
            "8 kHz mono, each clip padded or trimmed to 1 s; 400-point Hann STFT every 200 \
             samples (50 ms windows, 25 ms hop), centred with reflect padding; 40 HTK mel bands \
             from 50 Hz to 4 kHz; power in dB, 80 dB below the peak at most"
        );
    }
}
