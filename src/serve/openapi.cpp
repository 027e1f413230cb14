// The OpenAPI 3 description of the service (served at /openapi.json).

#include "georank/serve/http_service.hpp"

namespace georank {

using nlohmann::json;

namespace {

json ref(const std::string& name) {
  return {{"$ref", "#/components/schemas/" + name}};
}

json json_response(const std::string& description, const json& schema) {
  return {{"description", description}, {"content", {{"application/json", {{"schema", schema}}}}}};
}

json errors(std::initializer_list<int> statuses) {
  static const std::map<int, std::string> text = {
      {400, "Bad input (a field, the JSON, the image)"},
      {401, "Missing or wrong API key"},
      {404, "No such resource"},
      {413, "Body or image larger than the limits"},
      {415, "Unsupported media type"},
      {503, "Busy (a queue is full) or draining; see Retry-After"},
      {504, "The request's deadline passed"}};
  json out = json::object();
  for (int s : statuses) out[std::to_string(s)] = json_response(text.at(s), ref("Error"));
  return out;
}

json get(const std::string& summary, const json& ok, std::initializer_list<int> errs,
         json params = json::array()) {
  json responses = errors(errs);
  responses["200"] = ok;
  json op = {{"summary", summary}, {"responses", responses}};
  if (!params.empty()) op["parameters"] = params;
  return {{"get", op}};
}

json path_param(const std::string& name, const std::string& description) {
  return {{"name", name},
          {"in", "path"},
          {"required", true},
          {"description", description},
          {"schema", {{"type", "string"}}}};
}

json query_param(const std::string& name, const std::string& type, const std::string& description) {
  return {{"name", name},
          {"in", "query"},
          {"required", false},
          {"description", description},
          {"schema", {{"type", type}}}};
}

}  // namespace

json HttpService::openapi() {
  const json obj = {{"type", "object"}};
  const json localize_options = {
      {"k",
       {{"type", "integer"}, {"minimum", 1}, {"description", "Candidates returned (default: [retrieve] k)"}}},
      {"strategy",
       {{"type", "string"},
        {"description", "A configured strategy, or \"none\" (default: [serve] strategy)"}}},
      {"heading_deg",
       {{"type", "number"},
        {"description", "Compass heading of the panorama's centre column; unknown when absent"}}}};
  json multipart = localize_options;
  multipart["image"] = {{"type", "string"}, {"format", "binary"}};
  json body_json = localize_options;
  body_json["image"] = {{"type", "string"}, {"format", "byte"}, {"description", "Base64 (or a data: URI)"}};
  body_json["embedding"] = {{"type", "array"},
                            {"items", {{"type", "number"}}},
                            {"description", "A query embedding, instead of the image"}};

  json paths = {
      {"/v1/localize",
       {{"post",
         {{"summary", "Localise a street-level image: top-K tiles, optional rerank, best estimate"},
          {"requestBody",
           {{"required", true},
            {"content",
             {{"multipart/form-data",
               {{"schema", {{"type", "object"}, {"required", {"image"}}, {"properties", multipart}}}}},
              {"application/json", {{"schema", {{"type", "object"}, {"properties", body_json}}}}},
              {"image/*", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}}},
          {"responses",
           [&] {
             json r = errors({400, 401, 413, 415, 503, 504});
             r["200"] = json_response("The localisation", ref("Localization"));
             return r;
           }()}}}}},
      {"/v1/info", get("What the service offers", json_response("Gallery, strategies, judges", obj), {401})},
      {"/v1/tiles/{id}", get("A gallery tile's image",
                             {{"description", "The image file"}, {"content", {{"image/*", json::object()}}}},
                             {401, 404}, json::array({path_param("id", "Tile id")}))},
      {"/v1/tiles/{id}/meta",
       get("A gallery tile's metadata", json_response("Centre, footprint, resolution, city", obj), {401, 404},
           json::array({path_param("id", "Tile id")}))},
      {"/v1/runs", get("Finished runs", json_response("The runs", obj), {401})},
      {"/v1/runs/{run}", get("A run's numbers and figures (Vega-Lite specs)", json_response("The run", obj),
                             {401, 404}, json::array({path_param("run", "Run id")}))},
      {"/v1/runs/{run}/queries",
       get("A page of a run's queries", json_response("The page", obj), {400, 401, 404},
           json::array(
               {path_param("run", "Run id"), query_param("offset", "integer", "First row (default 0)"),
                query_param("limit", "integer", "Rows, 1..1000 (default 50)"),
                query_param("strategy", "string", "Strategy (default: the run's first)"),
                query_param("filter", "string", "all | fixed | broken | kept | missed | unparsed")}))},
      {"/v1/runs/{run}/queries/{id}",
       get("One query: candidates, every strategy's order and judgments", json_response("The query", obj),
           {401, 404}, json::array({path_param("run", "Run id"), path_param("id", "Query id")}))},
      {"/v1/runs/{run}/images/{kind}/{id}",
       get("A run's query or tile image",
           {{"description", "The image file"}, {"content", {{"image/*", json::object()}}}}, {401, 404},
           json::array(
               {path_param("run", "Run id"), path_param("kind", "query or tile"), path_param("id", "Id")}))},
      {"/health", get("Liveness", json_response("ok", obj), {503})},
      {"/ready", get("Readiness (models loaded)", json_response("ready", obj), {503})},
      {"/metrics",
       get("Prometheus metrics",
           {{"description", "Text format 0.0.4"}, {"content", {{"text/plain", json::object()}}}}, {401})},
      {"/openapi.json", get("This document", json_response("OpenAPI 3", obj), {})}};

  const json latlon = {{"type", "object"},
                       {"nullable", true},
                       {"properties", {{"lat", {{"type", "number"}}}, {"lon", {{"type", "number"}}}}}};
  const json candidate = {
      {"type", "object"},
      {"properties",
       {{"rank", {{"type", "integer"}}},
        {"tile", {{"type", "string"}}},
        {"score", {{"type", "number"}}},
        {"center", latlon},
        {"bounds",
         {{"type", "array"}, {"nullable", true}, {"description", "[[south, west], [north, east]]"}}},
        {"image_url", {{"type", "string"}}},
        {"city", {{"type", "string"}}},
        {"baseline_rank", {{"type", "integer"}}},
        {"evidence", obj}}}};
  json schemas = {
      {"Error",
       {{"type", "object"},
        {"required", {"error"}},
        {"properties",
         {{"error",
           {{"type", "object"},
            {"required", {"kind", "message"}},
            {"properties", {{"kind", {{"type", "string"}}}, {"message", {{"type", "string"}}}}}}}}}}},
      {"Candidate", candidate},
      {"Localization",
       {{"type", "object"},
        {"properties",
         {{"k", {{"type", "integer"}}},
          {"strategy", {{"type", "string"}, {"nullable", true}}},
          {"orientation", obj},
          {"candidates", {{"type", "array"}, {"items", ref("Candidate")}}},
          {"reranked", {{"type", "array"}, {"nullable", true}, {"items", ref("Candidate")}}},
          {"estimate",
           {{"type", "object"},
            {"nullable", true},
            {"properties",
             {{"lat", {{"type", "number"}}},
              {"lon", {{"type", "number"}}},
              {"tile", {{"type", "string"}}},
              {"source", {{"type", "string"}}}}}}},
          {"judge", {{"type", "object"}, {"nullable", true}}},
          {"timings_ms", obj},
          {"caveats", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}}}};
  return {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "georank"},
        {"version", "0.1.0"},
        {"description",
         "Cross-view geolocalisation: retrieval of aerial tiles, VLM reranking, runs browser"}}},
      {"paths", paths},
      {"components",
       {{"schemas", schemas}, {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
      {"security", json::array({{{"bearer", json::array()}}})}};
}

}  // namespace georank
