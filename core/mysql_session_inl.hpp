// Template part of MySqlSession.
#pragma once

#include <cppconn/exception.h>

#include "core/blocking.hpp"

namespace ticketing {

template <typename Fn>
auto MySqlSession::Run(Fn&& fn) -> decltype(fn(*this)) {
  WillBlock();
  try {
    return fn(*this);
  } catch (const DbError&) {
    throw;
  } catch (const sql::SQLException& e) {
    Fail(e);
  }
}

}  // namespace ticketing
