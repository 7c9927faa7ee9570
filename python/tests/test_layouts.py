"""list_clips on every dataset layout (keyword arguments), on empty files the tests create:
listing reads no audio."""

import pathlib

import pytest

import specnorm


def touch(path):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def tree(root, classes):
    for name, n in classes:
        for i in range(n):
            touch(root / name / f"{name}-{i:02d}.wav")
    touch(root / "notes" / "readme.txt")  # no audio: no class
    return root


def test_folders_layout_draws_stratified_folds_once_and_reuses_the_fold_file(tmp_path):
    root = tree(tmp_path / "words", [("yes", 7), ("no", 5), ("up", 3)])
    clips = specnorm.list_clips(root, layout="folders", n_folds=3, fold_seed=5)
    assert len(clips) == 15
    fold_file = root / "specnorm-folds-k3-seed5.csv"
    lines = fold_file.read_text().splitlines()
    assert lines[0] == "filename,class,fold,folds,seed"
    assert [c[0] for c in clips] == [str(root / line.split(",")[0]) for line in lines[1:]]
    # classes: sorted names, targets their ranks
    assert {(c[2], c[3]) for c in clips} == {(0, "no"), (1, "up"), (2, "yes")}
    # every class in every fold: its count / 3 rounded down or up; 5 clips per fold
    for name, n in [("yes", 7), ("no", 5), ("up", 3)]:
        for k in (1, 2, 3):
            c = sum(1 for x in clips if x[3] == name and x[1] == k)
            assert c in (n // 3, -(-n // 3)), (name, k, c)
    assert [sum(1 for x in clips if x[1] == k) for k in (1, 2, 3)] == [5, 5, 5]
    # the same seed elsewhere: the same folds; the next call reuses the file as written
    other = tree(tmp_path / "copy", [("yes", 7), ("no", 5), ("up", 3)])
    again = specnorm.list_clips(other, layout="folders", n_folds=3, fold_seed=5)
    assert [(pathlib.Path(c[0]).relative_to(other), c[1]) for c in again] == [
        (pathlib.Path(c[0]).relative_to(root), c[1]) for c in clips
    ]
    first = lines[1].split(",")
    moved = (int(first[2]) % 3) + 1
    lines[1] = ",".join([first[0], first[1], str(moved), "3", "5"])
    fold_file.write_text("\n".join(lines) + "\n")
    edited = specnorm.list_clips(root, folds=[moved], layout="folders", n_folds=3, fold_seed=5)
    assert str(root / first[0]) in [c[0] for c in edited]
    # a new file is named
    touch(root / "no" / "no-99.wav")
    with pytest.raises(specnorm.DatasetError, match=r"added no/no-99.wav"):
        specnorm.list_clips(root, layout="folders", n_folds=3, fold_seed=5)


def test_csv_layout_with_named_columns_and_row_numbers_in_errors(tmp_path):
    (tmp_path / "wavs").mkdir()
    rows = ["clip,word,split"]
    for i in range(4):
        touch(tmp_path / "wavs" / f"c{i}.wav")
        rows.append(f"c{i}.wav,{['on', 'off'][i % 2]},{i % 2 + 1}")
    meta = tmp_path / "labels.csv"
    meta.write_text("\n".join(rows) + "\n")
    kw = dict(layout="csv", metadata="labels.csv", filename_col="clip", label_col="word",
              fold_col="split", audio_dir="wavs")
    clips = specnorm.list_clips(tmp_path, **kw)
    assert clips[0] == (str(tmp_path / "wavs" / "c0.wav"), 1, 1, "on")
    assert clips[1] == (str(tmp_path / "wavs" / "c1.wav"), 2, 0, "off")
    assert [c[0] for c in specnorm.list_clips(tmp_path, [2], **kw)] == [
        str(tmp_path / "wavs" / n) for n in ("c1.wav", "c3.wav")
    ]
    meta.write_text("\n".join(rows + ["c9.wav,on,two"]) + "\n")
    with pytest.raises(specnorm.DatasetError, match=r"labels.csv, row 6: fold \"two\""):
        specnorm.list_clips(tmp_path, **kw)
    meta.write_text("\n".join(rows + ["../labels.csv,on,1"]) + "\n")
    with pytest.raises(specnorm.DatasetError, match=r"row 6: \"../labels.csv\""):
        specnorm.list_clips(tmp_path, **kw)
    assert len(specnorm.list_clips(tmp_path, allow_outside_root=True, **kw)) == 5


def test_urbansound8k_and_esc10(tmp_path):
    us = tmp_path / "UrbanSound8K"
    rows = ["slice_file_name,fsID,start,end,salience,fold,classID,class"]
    for i, (fold, cid, cls) in enumerate([(1, 3, "dog_bark"), (2, 0, "air_conditioner"), (10, 3, "dog_bark")]):
        touch(us / "audio" / f"fold{fold}" / f"{i}.wav")
        rows.append(f"{i}.wav,{i},0,1,1,{fold},{cid},{cls}")
    touch(us / "metadata" / "UrbanSound8K.csv")
    (us / "metadata" / "UrbanSound8K.csv").write_text("\n".join(rows) + "\n")
    clips = specnorm.list_clips(us, layout="urbansound8k")
    assert clips[2] == (str(us / "audio" / "fold10" / "2.wav"), 10, 3, "dog_bark")

    esc = tmp_path / "ESC-50"
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    for i, (target, cat, flag) in enumerate([(0, "dog", "True"), (5, "cat", "False"), (41, "chainsaw", "True")]):
        touch(esc / "audio" / f"1-{i}-A-{target}.wav")
        rows.append(f"1-{i}-A-{target}.wav,1,{target},{cat},{flag},{i},A")
    (esc / "meta").mkdir()
    (esc / "meta" / "esc50.csv").write_text("\n".join(rows) + "\n")
    assert len(specnorm.list_clips(esc)) == 3
    assert [(c[2], c[3]) for c in specnorm.list_clips(esc, esc10=True)] == [(0, "dog"), (41, "chainsaw")]


def test_layout_keywords_are_checked(tmp_path):
    with pytest.raises(specnorm.ConfigError, match=r"n_folds applies to layout=\"folders\", not layout=\"esc50\""):
        specnorm.list_clips(tmp_path, n_folds=3)
    with pytest.raises(specnorm.ConfigError, match=r"layout=\"csv\" needs metadata="):
        specnorm.list_clips(tmp_path, layout="csv")
    with pytest.raises(specnorm.ConfigError, match=r"unknown layout \"tree\""):
        specnorm.list_clips(tmp_path, layout="tree")
    with pytest.raises(TypeError):
        specnorm.list_clips(tmp_path, None, False, "folders")  # layout is keyword-only
    with pytest.raises(FileNotFoundError, match="nowhere"):
        specnorm.list_clips(tmp_path / "nowhere", layout="folders")
    with pytest.raises(specnorm.DatasetError, match=r"fewer than the 5 folds"):
        specnorm.list_clips(tree(tmp_path / "small", [("a", 2)]), layout="folders")
