//! JSON values to Python objects and back: what crosses the binding is the core's JSON
//! (the same shapes tools and the HTTP API use), as plain dicts, lists and scalars.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// A JSON value as a Python object.
pub(crate) fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// A Python object as JSON: dicts with string keys, lists and tuples, strings, numbers, bools
/// and None; also what ORMs hand back — `datetime`/`date` (ISO 8601), `Decimal` and `UUID`
/// (as strings).
pub(crate) fn from_py(object: &Bound<'_, PyAny>) -> PyResult<Value> {
    if object.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = object.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if object.is_instance_of::<PyInt>() {
        if let Ok(i) = object.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = object.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(PyTypeError::new_err("integer too large for JSON"));
    }
    if let Ok(f) = object.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| PyTypeError::new_err("NaN and infinity are not JSON"));
    }
    if let Ok(s) = object.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(dict) = object.cast::<PyDict>() {
        let mut map = Map::with_capacity(dict.len());
        for (key, item) in dict.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                return Err(PyTypeError::new_err(format!("dict keys must be strings, not {}", key.get_type().name()?)));
            };
            map.insert(key.to_str()?.to_owned(), from_py(&item)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(list) = object.cast::<PyList>() {
        return list.iter().map(|item| from_py(&item)).collect::<PyResult<_>>().map(Value::Array);
    }
    if let Ok(tuple) = object.cast::<PyTuple>() {
        return tuple.iter().map(|item| from_py(&item)).collect::<PyResult<_>>().map(Value::Array);
    }
    let type_name = object.get_type().name()?.to_string();
    match type_name.as_str() {
        "datetime" | "date" => Ok(Value::String(object.call_method0("isoformat")?.extract()?)),
        "Decimal" | "UUID" => Ok(Value::String(object.str()?.to_str()?.to_owned())),
        _ => Err(PyTypeError::new_err(format!("a {type_name} cannot be sent to crm-agent as JSON"))),
    }
}
