"""Sample images made in memory: with and without generator traces.

Each function returns the bytes of a small (<= 512 px) file written the way the tool it
imitates writes it: AUTOMATIC1111 puts its settings in a PNG ``parameters`` text chunk (and
in EXIF UserComment for JPEG/WebP), ComfyUI stores its API graph (``prompt``) and its editor
graph (``workflow``) as JSON text chunks, and so on. The prompts are invented landscapes:
nothing here depicts a person.
"""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin

_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
_SOFTWARE, _ARTIST, _DESCRIPTION = 0x0131, 0x013B, 0x010E
_MAKE, _MODEL, _DATETIME_ORIGINAL = 0x010F, 0x0110, 0x9003

A1111_PARAMETERS = (
    "a lighthouse on a cliff at dusk, volumetric light, highly detailed\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567890, Size: 256x256, "
    "Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Version: v1.7.0"
)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def synthetic_canvas(width: int = 256, height: int = 256, seed: int = 0) -> Image.Image:
    """A smooth, plausible 'render': gradients and soft blobs, no sensor noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rng = _rng(seed)
    img = np.zeros((height, width, 3), np.float32)
    for c in range(3):
        img[..., c] = 90 + 80 * np.sin(x / (23 + 7 * c)) * np.cos(y / (31 + 5 * c))
    for _ in range(4):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(20, 60)
        blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
        img += blob[..., None] * rng.uniform(-60, 60, 3)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def _png(im: Image.Image, text: dict[str, str], compressed: frozenset[str] = frozenset()) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value, zip=key in compressed)
    buf = BytesIO()
    im.save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def plain_png(width: int = 128, height: int = 128) -> bytes:
    """A PNG with no text chunks at all."""
    return _png(synthetic_canvas(width, height, seed=7), {})


def a1111_png(parameters: str = A1111_PARAMETERS) -> bytes:
    """A PNG as AUTOMATIC1111's web UI saves it: settings in a ``parameters`` tEXt chunk."""
    return _png(synthetic_canvas(seed=1), {"parameters": parameters})


def comfyui_graph() -> tuple[dict[str, Any], dict[str, Any]]:
    """A minimal but complete ComfyUI text-to-image graph: (prompt API graph, workflow)."""
    prompt = {
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 42, "steps": 20, "cfg": 7.0, "sampler_name": "euler",
                "scheduler": "normal", "denoise": 1.0, "model": ["4", 0],
                "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0],
            },
        },
        "4": {"class_type": "CheckpointLoaderSimple",
              "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
        "5": {"class_type": "EmptyLatentImage",
              "inputs": {"width": 256, "height": 256, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode",
              "inputs": {"text": "a snowy mountain village at night", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage",
              "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
    }  # fmt: skip
    workflow = {
        "last_node_id": 9,
        "last_link_id": 9,
        "nodes": [
            {"id": int(k), "type": v["class_type"], "pos": [0, 0], "size": [300, 100]}
            for k, v in prompt.items()
        ],
        "links": [],
        "version": 0.4,
    }
    return prompt, workflow


def comfyui_png() -> bytes:
    """A PNG as ComfyUI's SaveImage node writes it: ``prompt`` and ``workflow`` JSON chunks."""
    prompt, workflow = comfyui_graph()
    return _png(
        synthetic_canvas(seed=2), {"prompt": json.dumps(prompt), "workflow": json.dumps(workflow)}
    )


def invokeai_png() -> bytes:
    """A PNG as InvokeAI 3+ saves it: ``invokeai_metadata`` JSON."""
    meta = {
        "generation_mode": "txt2img", "positive_prompt": "a red barn in a wheat field",
        "negative_prompt": "", "width": 256, "height": 256, "seed": 99, "steps": 30,
        "cfg_scale": 7.5, "scheduler": "euler",
        "model": {"model_name": "stable-diffusion-v1-5", "base_model": "sd-1"},
        "app_version": "3.4.0",
    }  # fmt: skip
    return _png(synthetic_canvas(seed=3), {"invokeai_metadata": json.dumps(meta)})


def novelai_png() -> bytes:
    """A PNG as NovelAI saves it: Software/Source tEXt and a ``Comment`` JSON of settings."""
    comment = {"prompt": "a watercolor harbour", "steps": 28, "height": 256, "width": 256,
               "scale": 5.0, "seed": 7, "sampler": "k_euler_ancestral", "n_samples": 1}  # fmt: skip
    return _png(
        synthetic_canvas(seed=4),
        {
            "Title": "AI generated image",
            "Description": "a watercolor harbour",
            "Software": "NovelAI",
            "Source": "NovelAI Diffusion V3 4BDE2A90",
            "Comment": json.dumps(comment),
        },
    )


def fooocus_png() -> bytes:
    """A PNG as Fooocus saves it: ``fooocus_scheme`` and JSON ``parameters``."""
    params = {"Prompt": "a quiet lake with pine trees", "Negative Prompt": "",
              "Fooocus V2 Expansion": "a quiet lake with pine trees, serene",
              "Styles": "['Fooocus V2']", "Performance": "Speed", "Resolution": "(256, 256)",
              "Sampler": "dpmpp_2m_sde_gpu", "Seed": "123", "Base Model": "juggernautXL_v8",
              "Version": "Fooocus v2.3.1"}  # fmt: skip
    return _png(
        synthetic_canvas(seed=5), {"fooocus_scheme": "fooocus", "parameters": json.dumps(params)}
    )


def _exif_bytes(tags: dict[int, str | bytes], exif_ifd: dict[int, str | bytes]) -> Image.Exif:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[tag] = value
    if exif_ifd:
        ifd = exif.get_ifd(_EXIF_IFD)
        ifd.update(exif_ifd)
    return exif


def user_comment(text: str) -> bytes:
    """EXIF UserComment as A1111 writes it: 8-byte charset prefix, then UTF-16 big-endian."""
    return b"UNICODE\x00" + text.encode("utf-16-be")


def exif_generator_jpeg(
    software: str = "Midjourney", parameters: str | None = A1111_PARAMETERS
) -> bytes:
    """A JPEG with a generator in EXIF Software and (optionally) A1111 settings in UserComment."""
    exif_ifd: dict[int, str | bytes] = {}
    if parameters is not None:
        exif_ifd[_USER_COMMENT] = user_comment(parameters)
    exif = _exif_bytes({_SOFTWARE: software}, exif_ifd)
    buf = BytesIO()
    synthetic_canvas(seed=6).save(buf, "JPEG", quality=90, exif=exif)
    return buf.getvalue()


def photo_like_rgb(width: int = 320, height: int = 240, seed: int = 11) -> np.ndarray:
    """Natural-looking content: a sky gradient, a hard horizon, texture and sensor-like noise."""
    rng = _rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    sky = np.stack([110 + 0.2 * y, 150 + 0.25 * y, 220 - 0.1 * y], axis=-1)
    horizon = height * 0.55 + 12 * np.sin(x / 37.0) + 5 * np.sin(x / 9.0)
    ground_mask = (y > horizon)[..., None]
    texture = rng.normal(0, 18, (height, width, 1)).astype(np.float32)
    ground = np.stack([70 + 0.1 * x, 95 + 0.05 * y, 50 + 0 * x], axis=-1) + texture
    img = np.where(ground_mask, ground, sky)
    img += rng.normal(0, 3.0, img.shape)  # photon/read noise, every pixel, every channel
    return np.clip(img, 0, 255).astype(np.uint8)


def photo_like_jpeg(width: int = 320, height: int = 240) -> bytes:
    """A camera-like JPEG without generator traces: camera Make/Model and capture time only."""
    exif = _exif_bytes(
        {_MAKE: "Canon", _MODEL: "Canon EOS R6"},
        {_DATETIME_ORIGINAL: "2024:05:18 17:42:03"},
    )
    buf = BytesIO()
    Image.fromarray(photo_like_rgb(width, height), "RGB").save(
        buf, "JPEG", quality=88, exif=exif, subsampling=2
    )
    return buf.getvalue()


def xmp_packet(fields: dict[str, str]) -> bytes:
    """An XMP packet with the given ``prefix:name`` properties as RDF attributes."""
    ns = {
        "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
        "xmp": "http://ns.adobe.com/xap/1.0/",
        "photoshop": "http://ns.adobe.com/photoshop/1.0/",
        "tiff": "http://ns.adobe.com/tiff/1.0/",
    }
    decls = " ".join(f'xmlns:{p}="{u}"' for p, u in ns.items())
    attrs = " ".join(f'{k}="{v}"' for k, v in fields.items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" {decls} {attrs}/>'
        "</rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def xmp_jpeg(fields: dict[str, str]) -> bytes:
    """A JPEG carrying an XMP packet (APP1), e.g. an IPTC DigitalSourceType declaration."""
    buf = BytesIO()
    synthetic_canvas(seed=8).save(buf, "JPEG", quality=90, xmp=xmp_packet(fields))
    return buf.getvalue()


def ai_xmp_jpeg(source_type: str = "trainedAlgorithmicMedia") -> bytes:
    """A JPEG whose XMP declares an IPTC digital source type, as Google and Meta tools do."""
    uri = "http://cv.iptc.org/newscodes/digitalsourcetype/" + source_type
    return xmp_jpeg({"Iptc4xmpExt:DigitalSourceType": uri, "photoshop:Credit": "Made with AI"})


def animated_webp_with_metadata(frames: int = 3) -> bytes:
    """An animated WebP whose EXIF names a generator and whose XMP declares AI media."""
    images = [synthetic_canvas(96, 96, seed=20 + i) for i in range(frames)]
    exif = _exif_bytes({_SOFTWARE: "Stable Diffusion"}, {})
    xmp = xmp_packet(
        {"Iptc4xmpExt:DigitalSourceType":
         "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"}
    )  # fmt: skip
    buf = BytesIO()
    images[0].save(
        buf, "WEBP", save_all=True, append_images=images[1:], duration=100, loop=0,
        exif=exif, xmp=xmp, lossless=False, quality=80,
    )  # fmt: skip
    return buf.getvalue()


def corrupt_file(kind: str = "png") -> bytes:
    """Bytes that start like a real file and then turn to garbage (``png`` or ``jpeg``)."""
    good = plain_png() if kind == "png" else photo_like_jpeg(64, 64)
    garbage = bytes(_rng(13).integers(0, 256, len(good) - 40, dtype=np.uint8))
    return good[:40] + garbage


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """The first ``keep`` fraction of ``data``: an interrupted upload."""
    return data[: max(1, int(len(data) * keep))]
