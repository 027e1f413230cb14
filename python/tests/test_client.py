"""georank.Client against a real `georank serve` of the demo run."""

from __future__ import annotations

import socket

import pytest

import georank


@pytest.fixture(scope="module")
def client(serve_url):
    return georank.Client(serve_url)


@pytest.fixture(scope="module")
def query_image(demo):
    run = georank.read_run(demo)
    qid = run.candidates["query_id"].iloc[0]
    path = next((demo / "vigor").glob(f"*/panorama/{qid}"))
    return qid, path


def test_localize_a_file(client, demo, query_image):
    qid, path = query_image
    a = client.localize(path, k=5)
    assert isinstance(a, georank.Localization)
    assert {"candidates", "reranked", "estimate", "orientation", "judge", "timings_ms", "caveats", "k", "strategy"} <= set(a)
    assert a["k"] == 5 and a["strategy"] == "pointwise-yesno"
    assert [c["rank"] for c in a["candidates"]] == list(range(5))
    scores = [c["score"] for c in a["candidates"]]
    assert scores == sorted(scores, reverse=True)
    gallery = set(georank.read_embeddings(demo / "run" / "embeddings", "gallery").index)
    assert {c["tile"] for c in a["candidates"]} <= gallery
    for c in a["candidates"]:
        (lat0, lon0), (lat1, lon1) = c["bounds"]
        assert lat0 < c["center"]["lat"] < lat1 and lon0 < c["center"]["lon"] < lon1
        assert c["image_url"] == f"/v1/tiles/{c['tile']}"
    # the judge reranked the same five tiles, with evidence; the estimate is its top-1
    assert sorted(r["tile"] for r in a["reranked"]) == sorted(c["tile"] for c in a["candidates"])
    assert all(r["evidence"]["strategy"] == "pointwise-yesno" for r in a["reranked"])
    assert a.estimate == {"lat": a["reranked"][0]["center"]["lat"], "lon": a["reranked"][0]["center"]["lon"],
                          "tile": a["reranked"][0]["tile"], "source": "rerank"}
    assert a["judge"]["computed"] + a["judge"]["cached"] == 5
    assert a["timings_ms"]["total"] > 0 and a["orientation"]["known"] is False
    assert any("RANDOM-WEIGHT" in c for c in a["caveats"])
    frame = a.candidates_frame
    assert len(frame) == 5 and {"rank", "tile", "score", "lat", "lon", "city"} <= set(frame.columns)
    assert len(a.reranked_frame) == 5 and "evidence" in a.reranked_frame.columns


def test_localize_matches_the_run(client, demo, query_image):
    """The service's retrieval for a dataset query is the run's candidate list."""
    qid, path = query_image
    a = client.localize(path.read_bytes(), k=10, strategy="none")
    assert a["reranked"] is None and a["estimate"]["source"] == "retrieval"
    run = georank.read_run(demo)
    cands = run.candidates[run.candidates["query_id"] == qid]
    assert [c["tile"] for c in a["candidates"]] == cands["tile_id"].tolist()
    assert [c["score"] for c in a["candidates"]] == pytest.approx(cands["score"].tolist(), abs=1e-5)


def test_localize_an_embedding_and_other_endpoints(client, demo):
    q = georank.read_embeddings(demo / "run" / "embeddings", "queries")
    a = client.localize(embedding=q.iloc[0].tolist(), k=3, strategy="none")
    run = georank.read_run(demo)
    expected = run.candidates[run.candidates["query_id"] == q.index[0]]["tile_id"].tolist()[:3]
    assert [c["tile"] for c in a["candidates"]] == expected
    info = client.info()
    assert info["gallery_size"] == len(georank.read_embeddings(demo / "run" / "embeddings", "gallery"))
    assert info["default_strategy"] == "pointwise-yesno" and "listwise" in info["strategies"]
    assert client.health() == {"status": "ok"} and client.ready() is True
    tile = a["candidates"][0]["tile"]
    assert client.tile_meta(tile)["city"] == "Chicago"
    assert client.tile(tile)[:8] == b"\x89PNG\r\n\x1a\n"
    assert [r["id"] for r in client.runs()["runs"]] == ["run"]
    assert "georank_http_requests_total" in client.metrics()


def test_errors(client, serve_url):
    with pytest.raises(georank.ServeError) as e:
        client.localize(b"this is not an image")
    assert e.value.status == 415 and e.value.kind == "unsupported_media_type"
    with pytest.raises(georank.ServeError) as e:
        client.localize(embedding=[1.0, 2.0])
    assert e.value.status == 400 and "embedding" in e.value.message
    with pytest.raises(georank.ServeError) as e:
        client.tile_meta("../../etc/passwd")
    assert e.value.status == 404
    with pytest.raises(ValueError, match="one of them"):
        client.localize()
    with pytest.raises(FileNotFoundError, match="no such image"):
        client.localize("/nonexistent/photo.jpg")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(georank.ServeError) as e:
        georank.Client(f"http://127.0.0.1:{port}", timeout=5).info()
    assert e.value.status == 0 and e.value.kind == "unreachable"
